# The two commands of a fresh clone: `make run` runs the fleet, `make test` passes the tests.
# Each creates .venv and installs what it needs (pip, never uv: see README).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test status install clean

run: $(STAMP)
	$(BIN)/looma up

test: $(STAMP)
	$(BIN)/pytest

status: $(STAMP)
	$(BIN)/looma status

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Looma needs Python 3.11 or newer; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e .
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache
