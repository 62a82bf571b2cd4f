"""The subcommands of ``vpo-tui``, one module each; ``vpo_tui.cli`` dispatches to them."""
