# The two entry points of the README: `make demo` and `make test`. Both set everything up first.
VENV   ?= .venv
PY     := $(VENV)/bin/python
CORPUS := $(VENV)/bin/corpus
OUT    ?= out

.PHONY: setup demo test lint bench browser

setup: $(VENV)/.installed

# torch first, pinned: a plain `torch` requirement would pull a multi-GB CUDA build
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: setup
	$(CORPUS) prepare web   --input sample_data/web   --output $(OUT)/web   --workers 2 --overwrite
	$(CORPUS) prepare books --input sample_data/books --output $(OUT)/books --workers 2 --overwrite
	$(CORPUS) prepare chat  --input sample_data/chat  --output $(OUT)/chat  --workers 2 --overwrite

# headless Chromium for the report's browser test (Debian's package; Playwright's download fails offline)
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

test: setup browser
	$(VENV)/bin/ruff check corpus trainer tests
	$(VENV)/bin/pytest -q

# every benchmark, peers side by side; results go to reports/benchmarks/ (minutes each on 2 cores)
bench: setup
	for b in tests/benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

lint: setup
	$(VENV)/bin/ruff check corpus trainer tests
	$(VENV)/bin/ruff format --check corpus trainer tests
