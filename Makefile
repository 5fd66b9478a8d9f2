# Every target bootstraps .venv itself; targets only chain commands.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=
# A third-party strategy and scenario, installed like any plugin (`vts list` shows them).
EXAMPLE := examples/vts-event-strategy
# Test-only distributions, installed off the venv's path: a test adds one where it needs it.
TEST_PLUGINS := $(VENV)/test-plugins

.PHONY: bench bench-pytest test lint gate gate-instructions report profile matrix memcheck sanitize \
	ctest-dev screenshot fuzz stress clean

$(STAMP): pyproject.toml setup.py vts/suite/measure/_alloccount.c vts/suite/measure/_instrcount.c \
	vts/_speedups.c $(EXAMPLE)/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[suite,dev,uvloop]'
	$(BIN)/python -m pip install --quiet --no-deps -e $(EXAMPLE)
	touch $(STAMP)

$(TEST_PLUGINS)/.installed: $(STAMP) $(wildcard tests/plugins/*/pyproject.toml tests/plugins/*/*.py tests/plugins/*/*/*.py)
	$(BIN)/python -m pip install --quiet --no-deps --upgrade --target $(TEST_PLUGINS)/good tests/plugins/vts-test-plugin
	$(BIN)/python -m pip install --quiet --no-deps --upgrade --target $(TEST_PLUGINS)/broken tests/plugins/vts-broken-plugin
	$(BIN)/python -m pip install --quiet --no-deps --upgrade --target $(TEST_PLUGINS)/third-party tests/plugins/vts-third-party-plugin
	touch $@

bench: $(STAMP)
	$(BIN)/vts bench $(ARGS)

bench-pytest: $(STAMP)
	$(BIN)/python -m pytest benchmarks/ --benchmark-only --benchmark-group-by=param:scenario -p no:cacheprovider \
		--benchmark-json=reports/pytest-benchmark.json $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check vts tests benchmarks scripts examples
	$(BIN)/mypy

test: lint $(TEST_PLUGINS)/.installed
	$(BIN)/python -m pytest $(ARGS)

gate: $(STAMP)
	$(BIN)/vts gate --measure $(ARGS)

# Instructions per op under callgrind, for the cells CI can afford (3-10 s each): every
# strategy's fresh and wait cells on both loops.
gate-instructions: $(STAMP)
	$(BIN)/vts gate --measure --count-instructions -c fresh,wait $(ARGS)

report: $(STAMP)
	$(BIN)/vts report $(ARGS)

profile: $(STAMP)
	$(BIN)/vts profile $(ARGS)

# The C accelerator's tests under valgrind memcheck (3.12 by default: ARGS=--python 3.13).
memcheck: $(STAMP)
	$(BIN)/python scripts/memcheck.py $(ARGS)

# The C tests (scripts/ctests.py) under AddressSanitizer and UndefinedBehaviorSanitizer
# (scripts/sanitize.py): the accelerator and the counter built with -fsanitize=address,undefined
# -fno-sanitize-recover=undefined into build/sanitize-X.Y/ (the in-place builds stay), run
# by a release interpreter with gcc's libasan and libubsan in LD_PRELOAD and
# PYTHONMALLOC=malloc. ASAN_OPTIONS=detect_leaks=0: CPython does not free everything at
# exit, and a LeakSanitizer suppression matches any frame of a stack, so none can tell the
# interpreter's leaks from the accelerator's; memcheck checks those. Any report exits 99.
sanitize: $(STAMP)
	$(BIN)/python scripts/sanitize.py $(ARGS)

# The C tests under `python -X dev`, then with PYTHONMALLOC=debug (scripts/ctest_dev.py).
ctest-dev: $(STAMP)
	$(BIN)/python scripts/ctest_dev.py $(ARGS)

# The README's picture of the report's first screen, 1400x900 in headless Chromium, from the
# newest run's report (after `make bench`; REPORT=path/report.html for another).
REPORT ?= $(lastword $(sort $(wildcard reports/runs/*/report.html)))
screenshot: $(STAMP)
	@test -n "$(REPORT)" || { echo "error: no reports/runs/*/report.html: run make bench first" >&2; exit 2; }
	$(BIN)/python scripts/screenshot_report.py $(REPORT) docs/report-first-screen.png --window 1400x900

# The differential fuzz's long run (tests/test_differential.py): VTS_FUZZ_EXAMPLES examples
# for each loop (asyncio, uvloop); `make test` runs 60 of each.
VTS_FUZZ_EXAMPLES ?= 10000
fuzz: $(STAMP)
	VTS_FUZZ_EXAMPLES=$(VTS_FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/test_differential.py \
		-p no:cacheprovider --timeout=0 --hypothesis-show-statistics $(ARGS)

# A Channel across threads (scripts/channel_stress.py): ARGS="COUNT" items (1e6 by default)
# from producer threads to reader tasks, on every strategy and both loops, none lost or
# duplicated; `make test` runs 1e4 (tests/test_channel_stress.py).
stress: $(STAMP)
	$(BIN)/python scripts/channel_stress.py $(ARGS)

matrix: $(STAMP)
	$(BIN)/vts bench --python all $(ARGS)

clean:
	rm -rf $(VENV) .venvs build *.egg-info vts/suite/measure/*.so
