from vpo_tui.cli import main

raise SystemExit(main())
