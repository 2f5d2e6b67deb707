# redist developer commands. `make demo` and `make test` each work from a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(PY) -m pip

NUMPY_VENV ?= .venv-numpy

.PHONY: demo test test-full test-numpy typecheck lint docs bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=25.1"

# the package as users get it (non-editable), with the fast jax path
demo: $(VENV)/bin/python
	$(PIP) install --quiet ".[jax]"
	$(VENV)/bin/redist demo --output-dir redist-demo

# the docs site: warnings are errors, tutorials executed (jupyter-cache in docs/_build/.jupyter_cache)
SPHINX = @t0=$$(date +%s) && $(VENV)/bin/sphinx-build -q -b html -W --keep-going docs docs/_build/html \
	&& echo "docs built in $$(( $$(date +%s) - t0 )) s (docs/_build/html)"

# everything CI runs: the docs and the full suite, the numpy-only suite, then mypy --strict
test: test-full test-numpy typecheck

# installed package (not the source tree) with every extra, test and docs groups; the docs are
# built first so that tests/test_docs_browser.py opens this build; a test that needs
# jax/torch/dask and was skipped fails the run (REDIST_REQUIRE_EXTRAS)
test-full: export REDIST_DOCS_HTML = docs/_build/html
test-full: $(VENV)/bin/python
	$(PIP) install --quiet ".[jax,dask,io,mcmc,stats,fm,eos]" --group test --group docs
	$(PIP) install --quiet ./tests/plugin_pkg
	$(SPHINX)
	REDIST_TEST_INSTALLED=1 REDIST_REQUIRE_EXTRAS=1 $(VENV)/bin/pytest -p no:cacheprovider --durations=15

# the base package and the test group only (no jax, torch, dask or io extras): must pass too
test-numpy:
	$(PYTHON) -m venv $(NUMPY_VENV)
	$(NUMPY_VENV)/bin/python -m pip install --quiet --upgrade "pip>=25.1"
	$(NUMPY_VENV)/bin/python -m pip install --quiet . --group test
	$(NUMPY_VENV)/bin/python -m pip install --quiet ./tests/plugin_pkg
	REDIST_TEST_INSTALLED=1 $(NUMPY_VENV)/bin/pytest -p no:cacheprovider -q

# mypy --strict on redist and theories (configuration in pyproject.toml)
typecheck: $(VENV)/bin/python
	$(PIP) install --quiet mypy
	$(VENV)/bin/mypy

lint: $(VENV)/bin/python
	$(PIP) install --quiet ruff
	$(VENV)/bin/ruff check redist theories tests benchmarks examples

# the extras let every public module import (API pages) and the tutorials run
docs: $(VENV)/bin/python
	$(PIP) install --quiet ".[jax,dask,io,mcmc,stats,fm]" --group docs
	$(SPHINX)

# redist vs redistpy (separate venv) vs plain pyhf on the same work; writes benchmarks/results.json
bench: $(VENV)/bin/python
	$(PIP) install --quiet ".[jax]"
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) $(NUMPY_VENV) redist-demo docs/_build build dist
