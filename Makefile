# redist developer commands. `make demo` and `make test` each work from a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(PY) -m pip

.PHONY: demo test lint docs bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=25.1"

# the package as users get it (non-editable), with the fast jax path
demo: $(VENV)/bin/python
	$(PIP) install --quiet ".[jax]"
	$(VENV)/bin/redist demo --output redist-demo

# installed package (not the source tree) with every extra, test and docs groups
test: $(VENV)/bin/python
	$(PIP) install --quiet ".[jax,dask,io,mcmc,fm,eos]" --group test --group docs
	$(PIP) install --quiet ./tests/plugin_pkg
	REDIST_TEST_INSTALLED=1 $(VENV)/bin/pytest -p no:cacheprovider --durations=15
	$(VENV)/bin/sphinx-build -q -b html -W --keep-going docs docs/_build/html

lint: $(VENV)/bin/python
	$(PIP) install --quiet ruff
	$(VENV)/bin/ruff check redist theories tests benchmarks examples

docs: $(VENV)/bin/python
	$(PIP) install --quiet "." --group docs
	$(VENV)/bin/sphinx-build -b html docs docs/_build/html

# redist vs redistpy (separate venv) vs plain pyhf on the same work; writes benchmarks/results.json
bench: $(VENV)/bin/python
	$(PIP) install --quiet ".[jax]"
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) redist-demo docs/_build build dist
