# Two entry points for a fresh clone (see README):
#   make demo   create .venv, install, evaluate a bundled sample patient
#   make test   create .venv, install with dev tools, lint, type-check, run every test
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test lint typecheck install clean bench screenshots lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# requirements.lock is the constraint set: what is installed is what scripts/audit.py audits
$(STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]' -c requirements.lock
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/netcds kb validate
	$(BIN)/netcds evaluate examples/patients/small_bowel_after_ssa.json
	$(BIN)/netcds serve --db sqlite:///netcds.db --open-hooks

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP)
	bash scripts/install_browser.sh || echo "warning: Chromium not installed; browser tests will be skipped (fail under CI=true)"
	bash scripts/install_postgres.sh || echo "warning: PostgreSQL not installed; the store tests on PostgreSQL will be skipped (fail under CI=true)"
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/netcds kb validate
	$(BIN)/python scripts/audit.py
	$(BIN)/python scripts/fetch_mcode.py
	$(BIN)/python scripts/fetch_axe.py
	$(BIN)/python -m pytest

screenshots: $(STAMP)
	NETCDS_SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest tests/web/test_browser.py -q

bench: $(STAMP)
	$(BIN)/python bench/evaluate.py

lock: $(STAMP)
	$(BIN)/pip freeze --exclude-editable | grep -v '^netcds' > requirements.lock

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
