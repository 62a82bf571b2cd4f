# Two commands matter (see README): `make demo` and `make check`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SAMPLE := .sample/library

.PHONY: demo check test lint typecheck venv tools sample clean bench fuzz

# Run the app on a ready sample library: tools, venv, package, sample files, launch.
# The sample has a broken file on purpose, so exit code 1 ("a file failed") is expected.
# Its history goes to .sample/, not the user's own history database.
demo: tools $(BIN)/vpo-tui sample
	$(BIN)/vpo-tui --db .sample/history.sqlite3 $(SAMPLE) --policy normalize || [ $$? -eq 1 ]

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

sample: $(BIN)/vpo-tui
	@test -d $(SAMPLE) || $(BIN)/vpo-tui sample $(SAMPLE)

lint: $(VENV)/.test-deps
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench

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
