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

# the whole path on sample_data/: raw dumps -> clean datasets and reports -> tokenizer -> token shards ->
# a tiny pretrained model -> evaluation and samples -> a support-chat fine-tune scored on held-out replies ->
# a Hugging Face export. seq_len 512 (batch 4: the tiny preset's 2,048 tokens a step) so that the support
# chats (up to ~550 tokens) fit the model's context when it is fine-tuned
demo: setup
	$(CORPUS) prepare web      --input sample_data/web   --output $(OUT)/web      --workers 2 --overwrite
	$(CORPUS) prepare chat     --input sample_data/chat  --output $(OUT)/chat     --workers 2 --overwrite
	$(CORPUS) prepare pretrain --input sample_data/books --output $(OUT)/books    --workers 2 --overwrite
	$(CORPUS) tokenizer train $(OUT)/books --vocab-size 2048 --output $(OUT)/tokenizer --overwrite
	$(CORPUS) tokenize $(OUT)/books --tokenizer $(OUT)/tokenizer --output $(OUT)/tokens --val-fraction 0.1 --overwrite
	$(CORPUS) train $(OUT)/tokens --out $(OUT)/model --config tiny --set seq_len=512 --set batch_size=4 --overwrite
	$(CORPUS) evaluate $(OUT)/model --data $(OUT)/tokens
	$(CORPUS) generate $(OUT)/model --prompt "The river" --max-new-tokens 60 --temperature 0.8 --seed 0
	$(CORPUS) finetune $(OUT)/model --data $(OUT)/chat --out $(OUT)/chatbot --set seq_len=512 --set batch_size=4 --overwrite
	$(CORPUS) evaluate $(OUT)/chatbot --task chat --data $(OUT)/chat --limit 40 --max-new-tokens 48 --compare $(OUT)/model
	$(CORPUS) export $(OUT)/chatbot --hf $(OUT)/chatbot-hf --overwrite
	@echo
	@echo "datasets and quality reports: $(OUT)/{web,chat,books}/ (report/index.html in each)"
	@echo "tokenizer $(OUT)/tokenizer, token shards $(OUT)/tokens"
	@echo "pretrained model $(OUT)/model (report.html, metrics.jsonl, checkpoints/)"
	@echo "support-chat model $(OUT)/chatbot (eval/chat.md), Hugging Face export $(OUT)/chatbot-hf"
	@echo "talk to it: $(CORPUS) chat $(OUT)/chatbot   serve it: $(CORPUS) serve $(OUT)/chatbot"

# headless Chromium for the report's browser test (Debian's package; Playwright's download fails offline)
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

test: setup browser
	$(VENV)/bin/ruff check corpus trainer tests
	$(VENV)/bin/pytest -q

# every benchmark, peers side by side; results go to reports/benchmarks/ (minutes each on 2 cores)
bench: setup
	$(PY) -m pip install -q -e '.[bench]'
	for b in tests/benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

lint: setup
	$(VENV)/bin/ruff check corpus trainer tests
	$(VENV)/bin/ruff format --check corpus trainer tests
