# mqttws-explorer: one virtual environment under .venv, made on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint fmt bench clean

# The sources are compiled to bytecode once, as a wheel install has them: where
# PYTHONDONTWRITEBYTECODE is set, each command would compile its modules on every start.
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,lint]'
	$(BIN)/python -m compileall -q explorer gui tui > /dev/null
	touch $(STAMP)

setup: $(STAMP)

## run: the terminal explorer against the embedded broker with demo traffic
run: $(STAMP)
	$(BIN)/mqttws-tui

## lint: ruff (lint + format check), mypy --strict on the core and both front ends, import-linter contracts
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## test: lint, then the whole test suite (Qt offscreen, asyncio debug on)
test: lint
	QT_QPA_PLATFORM=offscreen PYTHONASYNCIODEBUG=1 $(BIN)/pytest -q

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: speed and memory figures beside peers measured in the same run
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
