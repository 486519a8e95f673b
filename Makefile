# `make test` is the whole test suite: it creates or refreshes .venv, installs the
# project with its test dependencies, and runs every gate. CI runs exactly this.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The sans-I/O core: branch coverage of these files is gated at 95%.
CORE := */autostrada/exceptions.py,*/autostrada/fields.py,*/autostrada/uri.py,*/autostrada/ids.py,*/autostrada/messages/*,*/autostrada/serializers/*,*/autostrada/rawsocket.py,*/autostrada/auth/*,*/autostrada/session/*,*/autostrada/backoff.py,*/autostrada/router/core/*

.PHONY: test lint typecheck docs unit venv bench clean demo

test: lint typecheck docs unit

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("autostrada needs Python >= 3.11, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,fast,scram]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples docs/snippets docs/hooks
	$(BIN)/ruff format --check src tests bench examples docs/snippets docs/hooks

typecheck: $(STAMP)
	$(BIN)/mypy src

# The documentation site, into site/ (open site/index.html), warnings as errors;
# tests/docs runs every code block the pages show.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

# coverage run (not pytest-cov): our pytest11 plugin is imported before pytest-cov
# would start measuring, which would hide module-level lines.
unit: $(STAMP)
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest $(PYTEST_ARGS)
	$(BIN)/coverage report --include='$(CORE)' --fail-under=95

bench: $(STAMP)
	$(BIN)/python bench/core.py

clean:
	rm -rf $(VENV) .coverage .mypy_cache .ruff_cache .pytest_cache .hypothesis site

demo: $(STAMP)
	$(BIN)/autostrada demo
