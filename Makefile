# The two commands: `make run` (demo app on http://127.0.0.1:8000) and `make test`.
# Both create .venv and install restock into it; re-running skips the install when
# pyproject.toml has not changed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "restock needs Python 3.11 or newer: run make PYTHON=python3.11 ...")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/restock demo

test: $(STAMP)
	sh scripts/ensure_chromium.sh
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) var
