"""Generation (trainer/generate.py): KV-cached decoding against decoding without a cache and against
transformers' generate() on the same weights, batches against single prompts, rows joining a running batch,
seeds, stop strings and end tokens, streaming that never splits a character, the sampling filters against
transformers' logits processors, and the generate() backend for a non-Llama model."""

from __future__ import annotations

import shutil

import pytest
import torch
from tiny_models import export_llama, make_run, make_tokenizer

from corpus.cli import main as corpus_main
from trainer import generate
from trainer.checkpoint import load_model
from trainer.generate import (
    DecodeBatch,
    GenerationConfig,
    Generator,
    Sequence,
    decode_weights,
    process_logits,
)
from trainer.model import GPT

PROMPTS = [
    "How do I reset my password?",
    "Hi",
    "My order arrived damaged and the box was open. What can I do about a refund?",
]
GREEDY = GenerationConfig(max_new_tokens=24, temperature=0, ignore_eos=True)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return make_tokenizer(tmp_path_factory.mktemp("tok"))


@pytest.fixture(scope="module")
def run(tmp_path_factory, tokenizer):
    return make_run(tmp_path_factory.mktemp("run"), tokenizer)


@pytest.fixture(scope="module")
def gen(run):
    return Generator.load(str(run))


def greedy_without_cache(model: GPT, ids: list[int], n: int) -> list[int]:
    """The reference: the whole sequence through the model again for every new token."""
    x = torch.tensor([ids])
    out = []
    with torch.no_grad():
        for _ in range(n):
            token = int(model(x)[0, -1].argmax())
            out.append(token)
            x = torch.cat([x, torch.tensor([[token]])], dim=1)
    return out


def test_cached_greedy_equals_uncached_and_transformers(gen, run, tokenizer, tmp_path):
    from transformers import AutoModelForCausalLM

    ours = gen.generate(PROMPTS, GREEDY)
    hf_dir = export_llama(gen.model, tokenizer, tmp_path / "hf")
    hf = AutoModelForCausalLM.from_pretrained(hf_dir).eval()
    from_hf = Generator.load(str(hf_dir))  # a Llama folder runs on the trainer's GPT
    assert from_hf.backend == "gpt"
    for prompt, completion in zip(PROMPTS, ours, strict=True):
        ids = gen.encode(prompt)
        assert completion.prompt_tokens == len(ids)
        assert len(completion.token_ids) == GREEDY.max_new_tokens
        assert completion.token_ids == greedy_without_cache(gen.model, ids, GREEDY.max_new_tokens)
        with torch.no_grad():
            out = hf.generate(
                torch.tensor([ids]), max_new_tokens=GREEDY.max_new_tokens, do_sample=False, eos_token_id=None
            )
        assert out[0, len(ids) :].tolist() == completion.token_ids
        assert from_hf.generate_ids([ids], GREEDY)[0].token_ids == completion.token_ids
    assert len(set(ours[0].token_ids)) > 3  # a model that says something, not one token over and over


def test_batched_equals_one_by_one(gen):
    batched = gen.generate(PROMPTS, GREEDY)
    for prompt, completion in zip(PROMPTS, batched, strict=True):
        assert gen.generate([prompt], GREEDY)[0] == completion


@pytest.mark.parametrize("onednn", [True, False], ids=["onednn", "mkl-only"])
def test_fused_decode_steps_give_the_models_logits(run, monkeypatch, onednn):
    """Every decode step and the prefill on the fused weights give the logits of the plain model run on the
    whole sequence without a cache (within 1e-5, fp32): one row, and rows of different lengths (left padded,
    own positions); with oneDNN's packed weights (CPU builds that have it) and without."""
    if onednn and not torch.backends.mkldnn.is_available():
        pytest.skip("no oneDNN in this torch build")
    if not onednn:
        monkeypatch.setattr(generate, "_onednn_usable", lambda device: False)
    gen = Generator.load(str(run))  # its own model: the norms' weights (ones when new) are made to matter
    torch.manual_seed(2)
    with torch.no_grad():
        for name, p in gen.model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    fused = decode_weights(gen.model)
    assert fused is not None  # the tiny model (GQA, untied) takes the fused path
    assert (fused.packed is not None) == onednn
    steps: list[torch.Tensor] = []
    prefills: list[torch.Tensor] = []

    def recorded(real, kept):  # the real function, its logits kept
        def call(*args, **kwargs):
            logits = real(*args, **kwargs)
            kept.append(logits.clone())
            return logits

        return call

    monkeypatch.setattr(generate, "decode_step", recorded(generate.decode_step, steps))
    monkeypatch.setattr(generate, "prefill", recorded(generate.prefill, prefills))
    cfg = GenerationConfig(max_new_tokens=6, temperature=0, ignore_eos=True)
    five = [*PROMPTS, "Where is my parcel?", "Thanks, that worked."]  # from 4 rows the output layer differs
    for prompts in (PROMPTS[:1], five):
        steps.clear()
        prefills.clear()
        out = gen.generate(prompts, cfg)
        assert len(steps) == cfg.max_new_tokens - 1  # the first token comes from the prefill
        assert len(prefills) == (1 if onednn else 0)  # the fused prefill runs on the packed weights only
        for row, (prompt, completion) in enumerate(zip(prompts, out, strict=True)):
            ids = gen.encode(prompt)
            with torch.no_grad():
                full = gen.model(torch.tensor([ids + completion.token_ids]))[0]
            for logits in prefills:  # the prompt's last position
                torch.testing.assert_close(logits[row], full[len(ids) - 1], atol=1e-5, rtol=0)
            for i, logits in enumerate(steps):  # step i fed generated token i, at position len(ids) + i
                torch.testing.assert_close(logits[row], full[len(ids) + i], atol=1e-5, rtol=0)


def test_fused_and_plain_steps_make_the_same_replies(gen, monkeypatch):
    """Greedy and sampled (temperature, top-k, top-p, repetition penalty, seeded), batched and streamed: the
    same tokens with the fused weights as with the model's own weights (the plain path, still used for models
    that are not fp32 or too big)."""
    sampled = GenerationConfig(
        max_new_tokens=16,
        temperature=0.8,
        top_k=20,
        top_p=0.9,
        repetition_penalty=1.3,
        seed=5,
        ignore_eos=True,
    )
    fused = [gen.generate(PROMPTS, cfg) for cfg in (GREEDY, sampled)]
    streamed = "".join(gen.stream(PROMPTS[2], sampled))
    monkeypatch.setattr(generate, "FUSED_WEIGHTS_MAX_BYTES", 0)
    assert decode_weights(gen.model) is None
    assert [gen.generate(PROMPTS, cfg) for cfg in (GREEDY, sampled)] == fused
    assert "".join(gen.stream(PROMPTS[2], sampled)) == streamed
    assert streamed == gen.generate([PROMPTS[2]], sampled)[0].text


def test_fused_weights_follow_the_models_parameters(run):
    """Weights changed in place (an optimizer step between the trainer's samples) are seen by the next
    generation: the fused copy is rebuilt, and decoding still equals the model without a cache."""
    gen = Generator.load(str(run))  # its own model: this test changes the weights
    before = gen.generate(PROMPTS[:1], GREEDY)[0]
    built = decode_weights(gen.model)
    assert decode_weights(gen.model) is built  # unchanged weights: the same copy
    torch.manual_seed(1)
    with torch.no_grad():
        for p in gen.model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    assert decode_weights(gen.model) is not built
    after = gen.generate(PROMPTS[:1], GREEDY)[0]
    assert after.token_ids != before.token_ids
    assert after.token_ids == greedy_without_cache(gen.model, gen.encode(PROMPTS[0]), GREEDY.max_new_tokens)


def test_lora_wrapped_model_keeps_the_plain_path(run):
    """peft's LoRA layers compute more than their .weight: no fused copy of such a model."""
    from trainer.train import TrainConfig, add_lora

    model = load_model(str(run)).model
    assert decode_weights(model) is not None
    add_lora(model, TrainConfig())
    assert decode_weights(model) is None


def test_rows_joining_and_leaving_a_running_batch(gen):
    """Continuous batching: sequences added between steps, with other limits, decode as they would alone."""
    alone = {
        p: gen.generate([p], GenerationConfig(max_new_tokens=n, temperature=0, ignore_eos=True))[0]
        for p, n in zip(PROMPTS, (5, 20, 12), strict=True)
    }
    seqs = [
        gen.new_sequence(gen.encode(p), GenerationConfig(max_new_tokens=n, temperature=0, ignore_eos=True))
        for p, n in zip(PROMPTS, (5, 20, 12), strict=True)
    ]
    batch = DecodeBatch(gen.model, gen.pad_id)
    batch.add([seqs[1]])
    for _ in range(3):
        batch.step()
    batch.add([seqs[0], seqs[2]])  # a shorter and a longer prompt join a batch 4 tokens in
    while batch.rows:
        batch.step()
    for prompt, seq in zip(PROMPTS, seqs, strict=True):
        assert seq.completion() == alone[prompt]
    assert batch.cache is None  # everything finished and left


def test_joining_rows_fill_free_rows_of_the_cache(gen):
    """With room for max_rows rows, a short prompt joining a running batch is written into a free row of the
    cache's storage (no reallocation), a finished row's place is taken by the last running row, and every
    sequence still gets exactly the tokens it gets alone (greedy)."""
    plan = {PROMPTS[2]: 20, "Hi": 5, PROMPTS[0]: 12, "Where is my parcel?": 8}
    alone = {
        p: gen.generate([p], GenerationConfig(max_new_tokens=n, temperature=0, ignore_eos=True))[0]
        for p, n in plan.items()
    }
    seqs = {
        p: gen.new_sequence(gen.encode(p), GenerationConfig(max_new_tokens=n, temperature=0, ignore_eos=True))
        for p, n in plan.items()
    }
    batch = DecodeBatch(gen.model, gen.pad_id, max_rows=3)
    batch.add([seqs[PROMPTS[2]]])
    storage = batch._k.data_ptr()
    for _ in range(3):
        batch.step()
    batch.add([seqs["Hi"], seqs[PROMPTS[0]]])  # two shorter prompts: rows 1 and 2 of the storage
    assert batch._k.data_ptr() == storage
    while not seqs["Hi"].finished:
        batch.step()
    assert batch.rows == [seqs[PROMPTS[2]], seqs[PROMPTS[0]]]  # the last row moved into the finished one's
    batch.add([seqs["Where is my parcel?"]])
    assert batch._k.data_ptr() == storage and len(batch) == 3
    while batch.rows:
        batch.step()
    for prompt, seq in seqs.items():
        assert seq.completion() == alone[prompt]


def test_seed_reproducible_and_rows_seeded_apart(gen):
    cfg = GenerationConfig(max_new_tokens=16, temperature=1.0, top_k=50, top_p=0.95, seed=7, ignore_eos=True)
    first = gen.generate(PROMPTS[:2], cfg)
    assert gen.generate(PROMPTS[:2], cfg) == first
    other = gen.generate(PROMPTS[:2], GenerationConfig(**{**cfg.__dict__, "seed": 8}))
    assert other != first
    # row 1 samples with seed + 1: the same as that prompt alone with that seed
    alone = gen.generate([PROMPTS[1]], GenerationConfig(**{**cfg.__dict__, "seed": 8}))[0]
    assert alone == first[1]


def test_stop_strings_cut_the_reply(gen):
    full = gen.generate([PROMPTS[0]], GREEDY)[0]
    # three characters from the middle of the reply (a random model also spells invalid UTF-8: not those)
    stop = next(
        full.text[i : i + 3] for i in range(6, len(full.text) - 3) if "\ufffd" not in full.text[i : i + 3]
    )
    cfg = GenerationConfig(max_new_tokens=24, temperature=0, stop=["never seen", stop], ignore_eos=True)
    cut = gen.generate([PROMPTS[0]], cfg)[0]
    assert cut.finish_reason == "stop"
    assert cut.text == full.text[: full.text.index(stop)]
    assert len(cut.token_ids) < len(full.token_ids)
    streamed = list(gen.stream(PROMPTS[0], cfg))
    assert "".join(streamed) == cut.text  # the start of the stop string was held back, never shown


def test_end_tokens_end_the_reply(gen):
    full = gen.generate([PROMPTS[0]], GREEDY)[0]
    end = full.token_ids[5]
    first = full.token_ids.index(end)
    original = gen.stop_ids
    gen.stop_ids = {end}
    try:
        ended = gen.generate([PROMPTS[0]], GenerationConfig(max_new_tokens=24, temperature=0))[0]
    finally:
        gen.stop_ids = original
    assert ended.finish_reason == "stop"
    assert ended.token_ids == full.token_ids[:first]  # the end token itself is not part of the reply


def test_stream_equals_generate_and_never_splits_a_character(gen, tokenizer):
    cfg = GenerationConfig(max_new_tokens=30, temperature=0.9, seed=3, ignore_eos=True)
    pieces = list(gen.stream(PROMPTS[2], cfg))
    assert "".join(pieces) == gen.generate([PROMPTS[2]], cfg)[0].text
    # a text whose non-ASCII characters are several byte-level tokens each
    text = "Café — naïve 日本語 ✓ done"
    ids = gen.tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(ids) > len(text.encode("utf-8")) / 2  # most multi-byte characters are split over tokens
    seq = Sequence([gen.tokenizer.eos_token_id], GenerationConfig(), gen.tokenizer, set(), len(ids), None)
    pieces = []
    for token in ids:
        seq.push(token)
        pieces.append(seq.take())
    assert "".join(pieces) == text
    assert all("\ufffd" not in p for p in pieces)
    assert seq.finish_reason == "length"


def test_chat_uses_the_template_and_stops_at_end_of_turn(gen):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert gen.chat_prompt(messages) == "<|bos|><|system|>Be brief.<|end|><|user|>Hi<|end|><|assistant|>"
    end = gen.tokenizer.convert_tokens_to_ids("<|end|>")
    assert end in gen.stop_ids and gen.tokenizer.eos_token_id in gen.stop_ids
    reply = gen.chat(messages, GenerationConfig(max_new_tokens=12, temperature=0))
    assert end not in reply.token_ids
    assert (
        "".join(gen.stream_chat(messages, GenerationConfig(max_new_tokens=12, temperature=0))) == reply.text
    )


def test_sampling_filters_agree_with_transformers():
    from transformers import (
        RepetitionPenaltyLogitsProcessor,
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    torch.manual_seed(0)
    logits = torch.randn(300) * 0.5
    seen = [3, 17, 17, 250, 5]
    cfg = GenerationConfig(temperature=0.7, top_k=40, top_p=0.8, repetition_penalty=1.3)
    ours = process_logits(logits, cfg, seen)
    ids, theirs = torch.tensor([seen]), logits[None].clone()
    for processor in (
        RepetitionPenaltyLogitsProcessor(1.3),
        TemperatureLogitsWarper(0.7),
        TopKLogitsWarper(40),
        TopPLogitsWarper(0.8),
    ):
        theirs = processor(ids, theirs)
    assert torch.equal(torch.isinf(ours), torch.isinf(theirs[0]))
    kept = ~torch.isinf(ours)
    assert 1 < int(kept.sum()) < 40
    torch.testing.assert_close(ours[kept], theirs[0][kept])


def test_prompt_longer_than_the_model_is_refused(gen):
    from corpus.errors import InputError

    with pytest.raises(InputError, match="positions"):
        gen.generate_ids([[5] * 300], GREEDY)
    near_end = gen.generate_ids([[5] * 250], GREEDY)[0]  # 256 positions: room for 6 tokens
    assert len(near_end.token_ids) == 6 and near_end.finish_reason == "length"


def test_bad_settings_name_the_field():
    for bad, field in (
        ({"temperature": -1}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"top_k": -2}, "top_k"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"stop": [""]}, "stop"),
    ):
        with pytest.raises(ValueError, match=field):
            GenerationConfig(**bad).check()


def test_transformers_backend_for_a_non_llama_model(tmp_path, shared):
    """A GPT-2 folder is not Llama-shaped: it runs on transformers' generate() through the same API."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    folder = tmp_path / "gpt2"
    config = GPT2Config(n_layer=2, n_head=2, n_embd=32, n_positions=128, vocab_size=50257)
    GPT2LMHeadModel(config).save_pretrained(folder)
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(shared / "tokenizers" / "gpt2" / name, folder / name)
    gen = Generator.load(str(folder))
    assert gen.backend == "transformers"
    assert gen.notes and "chat template" in gen.notes[0]  # GPT-2 has none: corpus's is used, and said so
    cfg = GenerationConfig(max_new_tokens=10, temperature=0, ignore_eos=True)
    out = gen.generate(["Hello world", "The King James Bible says"], cfg)
    for prompt, completion in zip(["Hello world", "The King James Bible says"], out, strict=True):
        ids = gen.encode(prompt)
        direct = gen.model.generate(
            torch.tensor([ids]), max_new_tokens=10, do_sample=False, eos_token_id=None
        )
        assert completion.token_ids == direct[0, len(ids) :].tolist()
        assert "".join(gen.stream(prompt, cfg)) == completion.text
    sampled = GenerationConfig(max_new_tokens=8, temperature=1.0, seed=1, ignore_eos=True)
    assert gen.generate(["Hello"], sampled) == gen.generate(["Hello"], sampled)


def test_not_a_model_is_one_line(tmp_path):
    from corpus.errors import InputError

    with pytest.raises(InputError):
        load_model(str(tmp_path))
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(InputError, match="causal language model"):
        Generator.load(str(tmp_path))


def test_generate_command(run, capsys):
    args = ["generate", str(run), "--prompt", "Hello", "--max-new-tokens", "8", "--temperature", "0"]
    assert corpus_main(args) == 0
    first = capsys.readouterr().out
    assert corpus_main(args) == 0
    assert capsys.readouterr().out == first and first.strip()
    assert corpus_main(["generate", str(run), "--prompt", "Hi", "--top-p", "2"]) == 2
    assert "top_p" in capsys.readouterr().err
