# The two commands of the README: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The package with every extra the tests use, at the versions this project is tested with.
INSTALL := $(PY) -m pip install --quiet -c constraints.txt -e ".[all]"

.PHONY: demo test test-fast lint venv clean-venv

venv: $(STAMP)

# Reinstall when the package metadata or the pins change.
$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(INSTALL)
	touch $(STAMP)

# Style (ruff, line length 100) and the one-way layers of setup.cfg (import-linter).
lint: $(STAMP)
	$(VENV)/bin/ruff check seg tools tests datasets
	$(VENV)/bin/lint-imports

test: lint
	$(PY) -m pytest -q tests

# Everything but the end-to-end tests marked slow.
test-fast: lint
	$(PY) -m pytest -q -m "not slow" tests

demo: $(STAMP)
	$(PY) tools/demo.py $(if $(DEMO_FAST),--fast,)

clean-venv:
	rm -rf $(VENV)
