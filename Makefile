# Three commands matter (see README): `make demo`, `make install` and `make check`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SAMPLE := .sample/library
PREFIX ?= $(HOME)/.local

.PHONY: demo check test lint typecheck venv tools sample clean bench fuzz install uninstall cluster

# Run the app on a ready sample library: tools, venv, package, sample files, launch.
# The sample has a broken file on purpose, so exit code 1 ("a file failed") is expected,
# and 130 is a batch the user cut short (Stop, Kill, quit while running): not errors.
# Its history and its config (the theme chosen in the demo) stay in .sample/, apart
# from the user's own.
demo: tools $(BIN)/vpo-tui sample
	@$(BIN)/vpo-tui --config .sample/config.toml --db .sample/history.sqlite3 \
		$(SAMPLE) --policy normalize; code=$$?; \
		case $$code in 0|1|130) exit 0;; *) exit $$code;; esac

# Put the vpo-tui command on PATH: a link in $(PREFIX)/bin to this checkout's venv.
install: $(BIN)/vpo-tui
	@mkdir -p $(PREFIX)/bin
	@ln -sf $(CURDIR)/$(BIN)/vpo-tui $(PREFIX)/bin/vpo-tui
	@echo "linked $(PREFIX)/bin/vpo-tui -> $(CURDIR)/$(BIN)/vpo-tui"
	@case ":$$PATH:" in \
		*":$(PREFIX)/bin:"*) echo "Ready: try  vpo-tui doctor";; \
		*) echo "$(PREFIX)/bin is not on your PATH; run this (and add it to ~/.profile):"; \
		   echo '  export PATH="$(PREFIX)/bin:$$PATH"';; \
	esac

uninstall:
	rm -f $(PREFIX)/bin/vpo-tui

# The Dask executor (--executor local-cluster / tls:// / dask://) in this checkout's venv.
cluster: $(BIN)/vpo-tui
	$(BIN)/python -m pip install -q -e '.[cluster]'

# Everything CI runs: lint, format check, types, the whole test suite.
check: tools-ci $(VENV)/.test-deps lint typecheck test

tools:
	@scripts/ensure-tools.sh

tools-ci:
	@scripts/ensure-tools.sh --with-tmux

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(BIN)/vpo-tui: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(VENV)/.test-deps: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

# Quiet: what `vpo-tui sample` suggests next ("Try: --no-tui --dry-run") would be left
# on the terminal under the demo, stale once the app has closed.
sample: $(BIN)/vpo-tui
	@test -d $(SAMPLE) || { $(BIN)/vpo-tui sample $(SAMPLE) >/dev/null && \
		echo "made the sample library in $(SAMPLE)"; }
	@test -f .sample/config.toml || echo "# make demo's own config (the theme chosen in the demo)" > .sample/config.toml

lint: $(VENV)/.test-deps
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/lint-imports --no-cache

typecheck: $(VENV)/.test-deps
	$(BIN)/mypy

# As root, drop the capabilities that let root ignore chmod, so permission tests bite.
NOCAPS := $(shell [ "$$(id -u)" = 0 ] && command -v setpriv >/dev/null && echo "setpriv --bounding-set=-dac_override,-dac_read_search")

test: $(VENV)/.test-deps
	$(NOCAPS) $(BIN)/python -m pytest -n 2 -q

# Property tests with fresh random examples, 50x as many (make check draws the same ones
# every run, so it never turns red on its own). Turn what this finds into an @example.
fuzz: $(VENV)/.test-deps
	VPO_FUZZ_SCALE=$${VPO_FUZZ_SCALE:-50} $(BIN)/python -m pytest -q \
		tests/unit/test_plan_properties.py tests/unit/test_policy_properties.py \
		tests/faults/test_policy_fuzz.py

bench: $(VENV)/.test-deps tools
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .sample .pytest_cache .mypy_cache .ruff_cache dist build
