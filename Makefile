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

# the docs site: warnings are errors, tutorials executed (jupyter-cache in docs/_build/.jupyter_cache)
SPHINX = @t0=$$(date +%s) && $(VENV)/bin/sphinx-build -q -b html -W --keep-going docs docs/_build/html \
	&& echo "docs built in $$(( $$(date +%s) - t0 )) s (docs/_build/html)"

# installed package (not the source tree) with every extra, test and docs groups;
# the docs are built first so that tests/test_docs_browser.py opens this build
test: export REDIST_DOCS_HTML = docs/_build/html
test: $(VENV)/bin/python
	$(PIP) install --quiet ".[jax,dask,io,mcmc,fm,eos]" --group test --group docs
	$(PIP) install --quiet ./tests/plugin_pkg
	$(SPHINX)
	REDIST_TEST_INSTALLED=1 $(VENV)/bin/pytest -p no:cacheprovider --durations=15

lint: $(VENV)/bin/python
	$(PIP) install --quiet ruff
	$(VENV)/bin/ruff check redist theories tests benchmarks examples

# the extras let every public module import (API pages) and the tutorials run
docs: $(VENV)/bin/python
	$(PIP) install --quiet ".[jax,dask,io,mcmc,fm]" --group docs
	$(SPHINX)

# redist vs redistpy (separate venv) vs plain pyhf on the same work; writes benchmarks/results.json
bench: $(VENV)/bin/python
	$(PIP) install --quiet ".[jax]"
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) redist-demo docs/_build build dist
