# The two commands of the README: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast venv clean-venv

venv: $(STAMP)

# Reinstall when the package metadata changes; pip takes torch/torchvision from the local disk here.
$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q tests

# Everything but the end-to-end tests marked slow.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" tests

demo: $(STAMP)
	$(PY) tools/demo.py $(if $(DEMO_FAST),--fast,)

clean-venv:
	rm -rf $(VENV)
