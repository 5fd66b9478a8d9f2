# Every target bootstraps .venv itself; targets only chain commands.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: bench bench-pytest test lint gate report profile matrix clean

$(STAMP): pyproject.toml setup.py vts/suite/measure/_alloccount.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,uvloop]'
	touch $(STAMP)

bench: $(STAMP)
	$(BIN)/vts bench $(ARGS)

bench-pytest: $(STAMP)
	$(BIN)/python -m pytest benchmarks/ --benchmark-only --benchmark-group-by=param:scenario -p no:cacheprovider \
		--benchmark-json=reports/pytest-benchmark.json $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check vts tests benchmarks scripts
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest $(ARGS)

gate: $(STAMP)
	$(BIN)/vts gate --measure $(ARGS)

report: $(STAMP)
	$(BIN)/vts report $(ARGS)

profile: $(STAMP)
	$(BIN)/vts profile $(ARGS)

matrix: $(STAMP)
	$(BIN)/vts bench --python all $(ARGS)

clean:
	rm -rf $(VENV) .venvs build *.egg-info vts/suite/measure/*.so
