"""Generation: the one API that evaluate, chat, serve and the trainer's samples use.

    gen = Generator.load("runs/tiny")                     # a run, a checkpoint folder or a local HF folder
    gen.generate(["Once upon a time"], GenerationConfig(max_new_tokens=64, temperature=0))
    for piece in gen.stream_chat([{"role": "user", "content": "Hi"}], GenerationConfig(temperature=0.7)):
        print(piece, end="", flush=True)

The trainer's own GPT (runs and Llama-family HF folders) decodes with a KV cache: one forward pass over the
prompts (the prefill), then one token per step. Prompts of different lengths share a batch by left padding:
every row's cache slots end at the same slot, each row's tokens carry their own positions, and a boolean
mask keeps queries off the padding. Rows that finish leave the batch (the last running row takes their place
in the cache), and new rows can
join between steps (`DecodeBatch.add`: prefilled, then written into free rows of the cache), which is what
the server's dynamic batching runs on. Each decoding step runs `decode_step` on a copy of the model's weights
laid out for one-token steps (`decode_weights`: fused q/k/v and gate/up matrices, norms folded in, built once
per model), which is what makes decoding fast on the CPU; the prefill runs `prefill` on the same copy where
oneDNN packed it, else `last_logits` on the model's own weights.
Other HF causal LMs (GPT-2, ...) go through transformers' `generate()`.

Text comes out incrementally: each new token is decoded together with a few tokens before it and only the
difference is emitted, held back while it ends in a partial UTF-8 character (U+FFFD) or could be the start of
a stop string. A reply ends at the end-of-document or end-of-turn token (`<|end|>` in chats), at a stop
string (cut before it), at `max_new_tokens` or at the model's last position.
"""

from __future__ import annotations

import json
import logging
import math
import os
import queue
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from corpus.errors import InputError
from trainer.checkpoint import LLAMA_TYPES, LoadedModel, hf_model_config, is_hf_folder, is_run, load_model
from trainer.hf import END_OF_TURN
from trainer.model import GPT, KVCache, causal_mask

log = logging.getLogger(__name__)

# tokens that end a reply besides the tokenizer's own end-of-sequence token: the end of a chat turn, in the
# templates an export's generation_config stops at too, and the end-of-text tokens of GPT-2 and Llama 3
END_TOKENS = END_OF_TURN + ("<|endoftext|>", "<|end_of_text|>")
# corpus's template (corpus/tokenization/chat.py), used for tokenizers that carry none
FALLBACK_TEMPLATE = (
    "{{ bos_token or '' }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)
DETOKENIZE_CONTEXT = 6  # tokens decoded before a new one, so merges across the boundary decode as in full


@dataclass
class GenerationConfig:
    max_new_tokens: int = 128
    temperature: float = 1.0  # 0: greedy
    top_k: int = 0  # 0: off
    top_p: float = 1.0  # 1: off
    repetition_penalty: float = (
        1.0  # transformers' definition: seen tokens' logits divided (or multiplied) by it
    )
    stop: list[str] = field(default_factory=list)  # the reply is cut before the first of these
    seed: int | None = None  # row i of a batch samples from torch.Generator seeded seed + i
    ignore_eos: bool = False  # keep going past end tokens (benchmarks: always max_new_tokens)

    def check(self) -> None:
        """ValueError naming the first bad field."""
        if not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be a positive integer, not {self.max_new_tokens!r}")
        if not self.temperature >= 0:
            raise ValueError(f"temperature must be >= 0, not {self.temperature!r}")
        if not isinstance(self.top_k, int) or self.top_k < 0:
            raise ValueError(f"top_k must be an integer >= 0, not {self.top_k!r}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], not {self.top_p!r}")
        if not self.repetition_penalty > 0:
            raise ValueError(f"repetition_penalty must be > 0, not {self.repetition_penalty!r}")
        if any(not isinstance(s, str) or not s for s in self.stop):
            raise ValueError("stop strings must be non-empty strings")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass
class Completion:
    text: str
    token_ids: list[int]  # the generated tokens, without the end token
    finish_reason: str  # "stop" (end token or stop string) or "length" (max_new_tokens or the model's end)
    prompt_tokens: int


class Sequence:
    """One prompt being continued: its tokens, its sampling settings and random generator, and the text
    emitted so far (incremental decoding with stop strings)."""

    def __init__(
        self,
        prompt_ids: list[int],
        cfg: GenerationConfig,
        tokenizer: Any,
        stop_ids: set[int],
        limit: int,
        seed: int | None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.prompt_ids = list(prompt_ids)
        self.cfg = cfg
        self.token_ids: list[int] = []
        self.finish_reason: str | None = None
        self.limit = limit  # tokens it may generate (max_new_tokens, or fewer near the model's last position)
        self.stop_ids = set() if cfg.ignore_eos else stop_ids
        self.generator = None
        if not cfg.greedy:
            self.generator = torch.Generator(device=device)
            if seed is None:
                self.generator.seed()
            else:
                self.generator.manual_seed(seed)
        self._decode = _decoder(tokenizer)
        self._ids = list(prompt_ids)  # what the incremental decoder reads
        self._prefix = max(len(prompt_ids) - DETOKENIZE_CONTEXT, 0)
        self._read = len(prompt_ids)
        self._held = ""  # decoded text held back: it could be the start of a stop string
        self._out: list[str] = []  # emitted text not yet taken by a stream
        self.text = ""  # all emitted text

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None

    def push(self, token: int) -> None:
        """Take one generated token: end on an end token, the limit or a stop string; emit the new text."""
        if token in self.stop_ids:
            self.finish("stop")
            return
        self.token_ids.append(token)
        self._ids.append(token)
        self._emit(self._detokenize(final=False))
        if not self.finished and len(self.token_ids) >= self.limit:
            self.finish("length")

    def finish(self, reason: str) -> None:
        if self.finished:
            return
        self._emit(self._detokenize(final=True))  # an unfinished UTF-8 character comes out as U+FFFD
        if self.finished:  # the flushed text held a stop string
            return
        self._put(self._held)
        self._held = ""
        self.finish_reason = reason

    def take(self) -> str:
        """The text emitted since the last call."""
        out, self._out = "".join(self._out), []
        return out

    def completion(self) -> Completion:
        return Completion(
            self.text, list(self.token_ids), self.finish_reason or "length", len(self.prompt_ids)
        )

    def _detokenize(self, final: bool) -> str:
        if self._read == len(self._ids):
            return ""
        before = self._decode(self._ids[self._prefix : self._read])
        now = self._decode(self._ids[self._prefix :])
        if len(now) <= len(before) or (now.endswith("\ufffd") and not final):
            return ""  # nothing new yet, or a UTF-8 character still being spelled byte by byte
        self._prefix, self._read = self._read, len(self._ids)
        return now[len(before) :]

    def _emit(self, delta: str) -> None:
        if not delta and not self._held:
            return
        text = self._held + delta
        stops = [(text.find(s), s) for s in self.cfg.stop]
        found = [i for i, _ in stops if i >= 0]
        if found:
            self._put(text[: min(found)])
            self._held = ""
            self.finish_reason = "stop"
            return
        hold = _stop_prefix_length(text, self.cfg.stop)
        self._put(text[: len(text) - hold])
        self._held = text[len(text) - hold :]

    def _put(self, text: str) -> None:
        if text:
            self._out.append(text)
            self.text += text


def _stop_prefix_length(text: str, stops: list[str]) -> int:
    """Length of the longest end of `text` that begins some stop string (so must be held back)."""
    best = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), best, -1):
            if text.endswith(stop[:n]):
                best = n
                break
    return best


def _decoder(tokenizer: Any):
    """ids -> text, skipping special tokens; the Rust tokenizer directly when there is one (no per-call
    Python overhead in the decode loop)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        return lambda ids: backend.decode(ids, skip_special_tokens=True)
    return lambda ids: tokenizer.decode(ids, skip_special_tokens=True)


# --------------------------------------------------------------------------------------------------------------
# sampling


def apply_repetition_penalty(logits: torch.Tensor, seen: list[int], penalty: float) -> torch.Tensor:
    """transformers' rule: a seen token's logit is divided by the penalty when positive, multiplied when not."""
    if penalty == 1.0 or not seen:
        return logits
    ids = torch.tensor(sorted(set(seen)), device=logits.device)
    scores = logits[ids]
    logits = logits.clone()
    logits[ids] = torch.where(scores > 0, scores / penalty, scores * penalty)
    return logits


def process_logits(logits: torch.Tensor, cfg: GenerationConfig, seen: list[int]) -> torch.Tensor:
    """One row's logits (vocab,) as sampled from: repetition penalty, then temperature, top-k and top-p (in
    transformers' order); filtered-out tokens at -inf."""
    logits = apply_repetition_penalty(logits.float(), seen, cfg.repetition_penalty)
    if cfg.greedy:
        return logits
    logits = logits / cfg.temperature
    if 0 < cfg.top_k < logits.numel():
        kth = torch.topk(logits, cfg.top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if cfg.top_p < 1.0:
        sorted_logits, order = torch.sort(logits)  # ascending
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop = cumulative <= 1 - cfg.top_p
        drop[-1] = False  # always keep the most likely token
        logits = logits.masked_fill(drop.scatter(0, order, drop), float("-inf"))
    return logits


def sample_token(logits: torch.Tensor, cfg: GenerationConfig, seen: list[int], generator) -> int:
    """One token from one row's logits: the most likely (greedy), or a draw from `generator`."""
    logits = process_logits(logits, cfg, seen)
    if cfg.greedy:
        return int(logits.argmax())
    return int(torch.multinomial(logits.softmax(-1), 1, generator=generator))


def sample_tokens(logits: torch.Tensor, seqs: list[Sequence]) -> list[int]:
    """Next token of every row (logits (B, vocab)); one argmax for a batch that is all plain greedy."""
    if all(s.cfg.greedy and s.cfg.repetition_penalty == 1.0 for s in seqs):
        return logits.argmax(-1).tolist()
    return [
        sample_token(row, s.cfg, s.prompt_ids + s.token_ids, s.generator)
        for row, s in zip(logits, seqs, strict=True)
    ]


# --------------------------------------------------------------------------------------------------------------
# KV-cached decoding on the trainer's GPT


def _norm(weight: torch.Tensor, x: torch.Tensor, eps: float) -> torch.Tensor:
    # as trainer.model.RMSNorm: in fp32, back to the activation dtype, then the weight
    return weight * torch.rms_norm(x.float(), (x.shape[-1],), eps=eps).to(x.dtype)


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


def last_logits(
    model: GPT,
    idx: torch.Tensor,
    cache: KVCache,
    positions: torch.Tensor | None = None,
    attn_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Logits of the last position of every row (B, vocab): GPT.forward's computation for inference, written
    out on the model's own weights (no module calls, no dropout, the output layer on the last position only;
    a decode step is a few small matrix products, so the rest is what costs). Same arguments and results as
    `model(idx, positions=..., attn_mask=..., cache=cache)[:, -1]` (tested token for token)."""
    c = model.config
    B, T = idx.shape
    past = cache.length
    if positions is None:
        if past + T > c.max_seq_len:
            raise ValueError(f"sequence of {past + T} tokens, the model has {c.max_seq_len} positions")
        cos, sin = model.rope_cos[past : past + T][None, None], model.rope_sin[past : past + T][None, None]
    else:
        cos, sin = model.rope_cos[positions][:, None], model.rope_sin[positions][:, None]
    x = F.embedding(idx, model.embed_tokens.weight)
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    H, KV, D = c.n_head, c.n_kv_head, c.head_dim
    is_causal = attn_mask is None and past == 0 and T > 1
    if attn_mask is None and past > 0 and T > 1:
        attn_mask = causal_mask(T, past + T, past, x.device)
    for i, block in enumerate(model.layers):
        attn, mlp = block.self_attn, block.mlp
        h = _norm(block.input_layernorm.weight, x, c.norm_eps)
        q = F.linear(h, attn.q_proj.weight).view(B, T, H, D).transpose(1, 2)
        k = F.linear(h, attn.k_proj.weight).view(B, T, KV, D).transpose(1, 2)
        v = F.linear(h, attn.v_proj.weight).view(B, T, KV, D).transpose(1, 2)
        k, v = cache.update(i, _rotate(k, cos, sin), v)
        y = F.scaled_dot_product_attention(
            _rotate(q, cos, sin), k, v, attn_mask=attn_mask, is_causal=is_causal, enable_gqa=KV != H
        )
        x = x + F.linear(y.transpose(1, 2).reshape(B, T, H * D), attn.o_proj.weight)
        h = _norm(block.post_attention_layernorm.weight, x, c.norm_eps)
        gate, up = F.linear(h, mlp.gate_proj.weight), F.linear(h, mlp.up_proj.weight)
        x = x + F.linear(F.silu(gate) * up, mlp.down_proj.weight)
    cache.length += T
    return F.linear(_norm(model.norm.weight, x[:, -1], c.norm_eps), model.lm_head.weight)


# --------------------------------------------------------------------------------------------------------------
# the one-token decode step on fused weights
#
# At batch 1 a decode step of a small model is a few hundred tiny ops, and on the CPU each costs a few
# microseconds of dispatch whatever its size: the step's time is the count of ops plus the bytes of weights
# read. So the step runs on a copy of the weights laid out for it, made once per model (and again only when
# a parameter changed): q, k and v in one matrix and gate and up in one, each stored input-major ((in, out),
# the layout a one-row matrix product reads fastest), the RMSNorm weights folded into the matrix that
# follows the norm, the residual additions fused into the output products (addmm), and the rotary tables
# laid out so one multiply-add rotates the queries and keys of every head together. Steps of several rows
# are matrix products of a few rows, which MKL runs poorly (8 rows of the output layer: 450-600 us); on the
# CPU they run on oneDNN's prepacked weights instead (170 us), and so does the output layer at every batch
# size. The copies take up to twice the model's size: a larger model than this decodes on its own weights.

FUSED_WEIGHTS_MAX_BYTES = 512 << 20
PACKED_MIN_ROWS = 2  # from this many rows on, the layers' products run on the oneDNN-packed weights
# without oneDNN: from this many rows on the output layer's product is faster on the model's own (vocab,
# d_model) weight than on the input-major copy (MKL, 8 rows: 330-480 us against 500-600 us; 1 row 120 vs 90)
HEAD_ROWS_OUTPUT_MAJOR = 4


@dataclass
class DecodeWeights:
    """A model's weights laid out for `decode_step`."""

    layers: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]  # qkv, o, gate_up, down
    packed: list[tuple[torch.Tensor, ...]] | None  # the same, packed by oneDNN (None: no oneDNN)
    embed: torch.Tensor  # (vocab, d_model): the model's own embedding
    head: torch.Tensor  # lm_head with the final norm's weight folded in: packed, or (d_model, vocab)
    lm_head: torch.Tensor  # (vocab, d_model): the model's own, and its final norm's weight: for several rows
    norm: torch.Tensor
    cos: torch.Tensor  # (max_len, 1, 2, head_dim / 2)
    sin: torch.Tensor  # (max_len, 1, 2, head_dim / 2), first half negated: rotate_half's sign
    n_head: int
    n_kv_head: int
    eps: float  # the norms' epsilon, for the output layer on the model's own weights
    norm_floor: torch.Tensor  # sqrt(d_model * eps): see _normalized
    version: tuple  # the parameters' storage and version counters when this was built


_decode_weights: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _parameters_version(model: GPT) -> tuple:
    # an optimizer step, load_state_dict or .to() changes a parameter's version counter or its storage
    return tuple((p.data_ptr(), p._version, p.dtype, p.device) for p in model.parameters())


def decode_weights(model: GPT) -> DecodeWeights | None:
    """The model's weights for `decode_step`, built once and rebuilt when a parameter changed; None where the
    plain path runs instead: not fp32 (folding the norms would change low-precision rounding), too big, or
    with LoRA-wrapped projections."""
    p = next(model.parameters())
    size = sum(t.numel() * t.element_size() for t in model.parameters())
    if p.dtype != torch.float32 or size > FUSED_WEIGHTS_MAX_BYTES or not _plain_linears(model):
        return None
    version = _parameters_version(model)
    built = _decode_weights.get(model)
    if built is None or built.version != version:
        built = _build_decode_weights(model, version)
        _decode_weights[model] = built
    return built


def _plain_linears(model: GPT) -> bool:
    # a projection wrapped by peft (LoRA) computes more than its .weight: such a model keeps the plain path
    projections = [model.lm_head]
    for block in model.layers:
        attn, mlp = block.self_attn, block.mlp
        projections += [attn.q_proj, attn.k_proj, attn.v_proj, attn.o_proj, mlp.gate_proj, mlp.up_proj]
        projections.append(mlp.down_proj)
    return all(type(m) is torch.nn.Linear for m in projections)


def _onednn_pack(weight: torch.Tensor) -> torch.Tensor:
    """An (out, in) weight in oneDNN's blocked layout, for `_onednn_linear`."""
    return torch.ops.mkldnn._reorder_linear_weight(weight.contiguous())


def _onednn_linear(x: torch.Tensor, packed: torch.Tensor) -> torch.Tensor:
    return torch.ops.mkldnn._linear_pointwise(x, packed, None, "none", [], "")


def _product(x: torch.Tensor, weight: torch.Tensor, packed: bool) -> torch.Tensor:
    return _onednn_linear(x, weight) if packed else torch.mm(x, weight)


def _product_add(residual: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, packed: bool) -> torch.Tensor:
    """residual + x @ weight, in one op."""
    if packed:
        return torch.ops.mkldnn._linear_pointwise.binary(x, residual, weight, None, "add")
    return torch.addmm(residual, x, weight)


def _normalized(x: torch.Tensor, floor: torch.Tensor) -> torch.Tensor:
    """RMSNorm without its weight, divided by sqrt(d_model) (which the weights after it carry):
    x / sqrt(|x|^2 + d eps) = x / hypot(|x|, sqrt(d eps)). Three ops; F.rms_norm is a composite of seven on
    the CPU (6.5 us against 3 us for one 256-wide row), and a one-row step has nine norms."""
    return x / torch.hypot(torch.linalg.vector_norm(x, dim=-1, keepdim=True), floor)


def _onednn_usable(device: torch.device) -> bool:
    return device.type == "cpu" and torch.backends.mkldnn.is_available()


@torch.no_grad()
def _build_decode_weights(model: GPT, version: tuple) -> DecodeWeights:
    c = model.config
    root_d = math.sqrt(c.d_model)  # _normalized leaves it out
    output_major = []  # (out, in), norms folded in
    for block in model.layers:
        attn, mlp = block.self_attn, block.mlp
        qkv = torch.cat([attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight])
        gate_up = torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight])
        output_major.append(
            (
                qkv * (block.input_layernorm.weight * root_d),
                attn.o_proj.weight,
                gate_up * (block.post_attention_layernorm.weight * root_d),
                mlp.down_proj.weight,
            )
        )
    head = model.lm_head.weight * (model.norm.weight * root_d)
    packed = None
    if _onednn_usable(head.device):
        try:
            packed = [tuple(_onednn_pack(m) for m in layer) for layer in output_major]
            head = _onednn_pack(head)
        except (RuntimeError, AttributeError) as err:  # a build without these ops: MKL products only
            log.info("oneDNN-packed decode weights unavailable (%s)", err)
            packed = None
    if packed is None:
        head = head.t().contiguous()
    half = c.head_dim // 2
    sign = torch.cat([-torch.ones(half), torch.ones(half)]).to(model.rope_sin)
    return DecodeWeights(
        layers=[tuple(m.t().contiguous() for m in layer) for layer in output_major],
        packed=packed,
        embed=model.embed_tokens.weight,
        head=head,
        lm_head=model.lm_head.weight,
        norm=model.norm.weight,
        cos=model.rope_cos.view(-1, 1, 2, half).clone(),
        sin=(model.rope_sin * sign).view(-1, 1, 2, half),
        n_head=c.n_head,
        n_kv_head=c.n_kv_head,
        eps=c.norm_eps,
        norm_floor=torch.tensor(math.sqrt(c.d_model * c.norm_eps), device=head.device),
        version=version,
    )


def decode_step(
    w: DecodeWeights,
    tokens: torch.Tensor,
    cache: KVCache,
    position: int | torch.Tensor,
    attn_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Logits (B, vocab) of one new token per row (tokens (B,)) at slot `cache.length`; its keys and values
    go into the cache. position: every row's (an int) or each row's ((B,) tensor); attn_mask: (B, 1, 1,
    slots + 1) boolean, True on the slots a row may attend (None: all). The same computation as
    `last_logits(model, tokens[:, None], cache, ...)`, in another order (equal within float rounding)."""
    B, S = tokens.shape[0], cache.length
    if S >= cache.max_len:
        raise ValueError(f"KV cache holds {cache.max_len} positions, {S + 1} asked")
    H, KV = w.n_head, w.n_kv_head
    cos, sin = w.cos[position], w.sin[position]  # (1 or B, 1, 2, half): broadcast over heads
    x = F.embedding(tokens, w.embed)
    d = x.shape[-1]
    packed = w.packed is not None and B >= PACKED_MIN_ROWS
    for i, (qkv_w, o_w, gate_up_w, down_w) in enumerate(w.packed if packed else w.layers):
        qkv = _product(_normalized(x, w.norm_floor), qkv_w, packed).view(B, H + 2 * KV, 2, -1)
        qk = qkv[:, : H + KV]  # queries and keys, (B, H + KV, 2, half): x cos + rotate_half(x) sin below
        qk = torch.addcmul(qk * cos, qk.flip(2), sin)
        keys, values = cache.k[i], cache.v[i]
        keys.select(2, S).copy_(qk[:, H:].reshape(B, KV, -1))
        values.select(2, S).copy_(qkv[:, H + KV :].reshape(B, KV, -1))
        y = F.scaled_dot_product_attention(
            qk[:, :H].reshape(B, H, 1, -1),
            keys.narrow(2, 0, S + 1),
            values.narrow(2, 0, S + 1),
            attn_mask=attn_mask,
            enable_gqa=KV != H,
        )
        x = _product_add(x, y.view(B, -1), o_w, packed)
        gate, up = _product(_normalized(x, w.norm_floor), gate_up_w, packed).chunk(2, dim=-1)
        x = _product_add(x, F.silu(gate).mul_(up), down_w, packed)
    cache.length = S + 1
    if w.packed is not None:
        return _onednn_linear(_normalized(x, w.norm_floor), w.head)
    if B >= HEAD_ROWS_OUTPUT_MAJOR:
        return F.linear(F.rms_norm(x, (d,), w.norm, eps=w.eps), w.lm_head)
    return torch.mm(_normalized(x, w.norm_floor), w.head)


def prefill(
    w: DecodeWeights,
    idx: torch.Tensor,
    cache: KVCache,
    positions: torch.Tensor | None = None,
    attn_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """`last_logits` on the fused, oneDNN-packed decode weights (w.packed must be set): logits (B, vocab) of
    the last position of every row of idx (B, T), whose keys and values fill cache slots [0, T). positions
    (B, T) and attn_mask (B, 1, T, T) as for `last_logits` (None: positions 0..T-1, causal attention). The
    prompt's B * T rows run as one product per matrix, which on the model's own (out, in) weights MKL runs at
    half the speed of oneDNN's packed copy; the last layer's output products and MLP run on the last
    position only, the one whose logits are asked for."""
    B, T = idx.shape
    if cache.length != 0 or T > cache.max_len:
        raise ValueError(f"prefill of {T} tokens into a KV cache of {cache.max_len} holding {cache.length}")
    H, KV = w.n_head, w.n_kv_head
    pos = torch.arange(T, device=idx.device) if positions is None else positions
    cos, sin = w.cos[pos], w.sin[pos]  # (T or B, T, 1, 2, half): broadcast over heads
    x = F.embedding(idx, w.embed).view(B * T, -1)
    last = len(w.packed) - 1
    for i, (qkv_w, o_w, gate_up_w, down_w) in enumerate(w.packed):
        qkv = _onednn_linear(_normalized(x, w.norm_floor), qkv_w).view(B, T, H + 2 * KV, 2, -1)
        qk = qkv[:, :, : H + KV]
        qk = torch.addcmul(qk * cos, qk.flip(3), sin).view(B, T, H + KV, -1).transpose(1, 2)
        cache.k[i, :, :, :T] = qk[:, H:]
        cache.v[i, :, :, :T] = qkv[:, :, H + KV :].reshape(B, T, KV, -1).transpose(1, 2)
        q, keys, values = qk[:, :H], cache.k[i, :, :, :T], cache.v[i, :, :, :T]
        if i == last:  # only the last position goes on to the output layer
            q, x = q[:, :, -1:], x.view(B, T, -1)[:, -1]
            attn_mask = None if attn_mask is None else attn_mask[:, :, -1:]
        y = F.scaled_dot_product_attention(
            q,
            keys,
            values,
            attn_mask=attn_mask,
            is_causal=attn_mask is None and i != last,
            enable_gqa=KV != H,
        )
        x = _product_add(x, y.transpose(1, 2).reshape(x.shape[0], -1), o_w, True)
        gate, up = _onednn_linear(_normalized(x, w.norm_floor), gate_up_w).chunk(2, dim=-1)
        x = _product_add(x, F.silu(gate).mul_(up), down_w, True)
    cache.length = T
    return _onednn_linear(_normalized(x, w.norm_floor), w.head)


def _left_pad(prompts: list[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids (B, P) padded on the left, valid (B, P) True on real tokens)."""
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    valid = torch.zeros((len(prompts), width), dtype=torch.bool)
    for i, p in enumerate(prompts):
        ids[i, width - len(p) :] = torch.tensor(p, dtype=torch.long)
        valid[i, width - len(p) :] = True
    return ids.to(device), valid.to(device)


class DecodeBatch:
    """Sequences decoded together on the trainer's GPT, one token per row per `step()`.

    Cache slots are right-aligned: every row's last token sits in the same slot, and row i's tokens fill
    slots [start_i, length). `valid` (rows, slots) marks the filled ones; positions count from each row's
    start. Rows join with `add` (prefilled together, then written into free rows of the cache's storage, which
    is reallocated only when it lacks the rows or slots) and leave when finished (the last running row takes
    a finished one's place); slots that no row uses any more are cut off the front, so a long-running batch
    does not grow."""

    def __init__(self, model: GPT, pad_id: int = 0, max_rows: int | None = None) -> None:
        self.model = model
        self.pad_id = pad_id
        self.max_rows = max_rows  # rows the cache's storage makes room for (a server's max batch)
        # the storage of keys, values and `valid` (rows, slots), of which cache and valid are the running
        # rows' view: joining rows fill free rows, leaving ones are replaced by the last
        self._k: torch.Tensor | None = None
        self._v: torch.Tensor | None = None
        self._valid: torch.Tensor | None = None
        self.rows: list[Sequence] = []
        self.cache: KVCache | None = None
        self.valid: torch.Tensor | None = None  # (rows, cache slots) bool
        self.start = torch.zeros(0, dtype=torch.long)  # first slot of each row
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype
        self.weights: DecodeWeights | None = None  # the fused decode step's (None: the plain path)
        self.aligned = True  # every row starts at slot 0: positions equal slots, no padding to mask

    def __len__(self) -> int:
        return len(self.rows)

    @torch.inference_mode()
    def add(self, seqs: list[Sequence]) -> None:
        """Prefill new sequences (one left-padded forward pass), sample their first tokens, merge them in."""
        if not seqs:
            return
        self.weights = decode_weights(self.model)  # checked at every join: the model may have trained since
        ids, valid = _left_pad([s.prompt_ids for s in seqs], self.pad_id, self.device)
        B, P = ids.shape
        cache = KVCache(self.model.config, B, P, self.device, self.dtype)
        positions = mask = None
        if not bool(valid.all()):
            positions = (valid.long().cumsum(-1) - 1).clamp(min=0)
            causal = torch.ones(P, P, dtype=torch.bool, device=self.device).tril()
            # padding queries attend to themselves only: a row of all -inf would make NaNs that reach the
            # cached values of the pads (masked out later, but 0 * NaN is still NaN)
            mask = ((causal & valid[:, None, :]) | torch.eye(P, dtype=torch.bool, device=self.device))[
                :, None
            ]
        if self.weights is not None and self.weights.packed is not None:
            logits = prefill(self.weights, ids, cache, positions, mask)
        else:  # the model's own weights (no mask and no positions: plain causal attention)
            logits = last_logits(self.model, ids, cache, positions, mask)
        for seq, token in zip(seqs, sample_tokens(logits, seqs), strict=True):
            seq.push(token)
        self._merge(cache, valid, (P - valid.sum(-1)).cpu(), seqs)
        self.drop_finished()

    @torch.inference_mode()
    def step(self) -> None:
        """Feed every row its last token and sample the next."""
        if not self.rows:
            return
        cache, S = self.cache, self.cache.length
        if S == cache.max_len:
            self._reserve(S + 1)
            cache = self.cache
        self.valid[:, S] = True
        last = torch.tensor([s.token_ids[-1] for s in self.rows], device=self.device)
        positions = mask = None  # aligned: positions equal slots, every slot valid
        if not self.aligned:
            positions = (S - self.start).to(self.device)
            mask = self.valid[:, None, None, : S + 1]
        if self.weights is not None:
            logits = decode_step(self.weights, last, cache, S if positions is None else positions, mask)
        else:
            positions = None if positions is None else positions[:, None]
            logits = last_logits(self.model, last[:, None], cache, positions, mask)
        for seq, token in zip(self.rows, sample_tokens(logits, self.rows), strict=True):
            seq.push(token)
        self.drop_finished()

    def _remaining(self) -> int:
        return max((s.limit - len(s.token_ids) for s in self.rows), default=0)

    def _view(self) -> None:
        """Point the cache and `valid` at the storage's first len(rows) rows (the running ones)."""
        n = len(self.rows)
        self.cache.k, self.cache.v = self._k[:, :n], self._v[:, :n]
        self.cache.max_len = self._k.shape[3]
        self.valid = self._valid[:n]
        self.aligned = bool((self.start == 0).all())

    def _merge(self, new: KVCache, new_valid: torch.Tensor, new_start: torch.Tensor, seqs: list[Sequence]):
        """The new rows after the running ones, right-aligned. They go into free rows of the storage when it
        has them and room for every row's remaining tokens (the usual case in a server: a prompt shorter than
        the running rows' slots joins); otherwise the storage is reallocated, with room for max_rows rows and
        twice the remaining tokens, so the next joins find room."""
        old, m = len(self.rows), len(seqs)
        S_old = self.cache.length if self.cache is not None else 0
        S = max(S_old, new.length)
        need = max(self._remaining(), max(s.limit - len(s.token_ids) for s in seqs))
        fits = (
            self.cache is not None
            and S == S_old
            and old + m <= self._k.shape[1]
            and S_old + need <= self._k.shape[3]
        )
        if not fits:  # new storage, the running rows moved right by the slots the new prompt adds
            row_capacity = max(old + m, self.max_rows or 0)
            merged = KVCache(self.model.config, row_capacity, S + 2 * need, self.device, self.dtype)
            valid = torch.zeros((row_capacity, S + 2 * need), dtype=torch.bool, device=self.device)
            if old:
                shift = S - S_old
                merged.k[:, :old, :, shift:S] = self.cache.k[:, :, :, :S_old]
                merged.v[:, :old, :, shift:S] = self.cache.v[:, :, :, :S_old]
                valid[:old, shift:S] = self.valid[:, :S_old]
                self.start = self.start + shift
            merged.length = S
            self.cache, self._k, self._v, self._valid = merged, merged.k, merged.v, valid
        shift = S - new.length
        rows = slice(old, old + m)
        self._k[:, rows, :, shift:S] = new.k[:, :, :, : new.length]
        self._v[:, rows, :, shift:S] = new.v[:, :, :, : new.length]
        # a reused row's slots before `shift` keep an earlier row's (finite) keys and values: masked out
        self._valid[rows] = False
        self._valid[rows, shift:S] = new_valid
        self.rows = self.rows + seqs
        self.start = torch.cat([self.start, new_start + shift])
        self._view()

    def _reserve(self, capacity: int) -> None:
        """Room for `capacity` slots (a row was given more tokens than planned: never in normal use)."""
        cache, n = self.cache, len(self.rows)
        grown = KVCache(self.model.config, n, capacity, self.device, self.dtype)
        grown.k[:, :, :, : cache.length] = cache.k[:, :, :, : cache.length]
        grown.v[:, :, :, : cache.length] = cache.v[:, :, :, : cache.length]
        grown.length = cache.length
        valid = torch.zeros((n, capacity), dtype=torch.bool, device=self.device)
        valid[:, : cache.length] = self.valid[:, : cache.length]
        self.cache, self._k, self._v, self._valid = grown, grown.k, grown.v, valid
        self._view()

    def drop_finished(self) -> None:
        """Remove the finished rows (a caller may end a row itself: `seq.finish_reason = "cancelled"`): the
        last running rows move into their places in the storage (a few rows copied, nothing reallocated)."""
        keep = [i for i, s in enumerate(self.rows) if not s.finished]
        if len(keep) == len(self.rows):
            return
        if not keep:
            self.rows, self.cache, self.valid = [], None, None
            self._k = self._v = self._valid = None
            self.start = torch.zeros(0, dtype=torch.long)
            return
        n = len(keep)
        holes = [i for i in range(n) if self.rows[i].finished]
        movers = [i for i in keep if i >= n]  # as many as there are holes
        order = list(range(n))
        if holes:
            to, frm = torch.tensor(holes, device=self.device), torch.tensor(movers, device=self.device)
            self._k[:, to] = self._k[:, frm]
            self._v[:, to] = self._v[:, frm]
            self._valid[to] = self._valid[frm]
            for h, mv in zip(holes, movers, strict=True):
                order[h] = mv
        self.rows = [self.rows[i] for i in order]
        self.start = self.start[torch.tensor(order)]
        cut = int(self.start.min())
        if cut:  # slots before every remaining row's first one: drop them (a view, nothing copied)
            self._k, self._v, self._valid = (
                self._k[:, :, :, cut:],
                self._v[:, :, :, cut:],
                self._valid[:, cut:],
            )
            self.cache.length -= cut
            self.start = self.start - cut
        self._view()


# --------------------------------------------------------------------------------------------------------------
# transformers' generate() for HF causal LMs that are not Llama-shaped


@dataclass
class HFModel:
    """A transformers causal LM loaded from a local folder (the `generate()` backend)."""

    model: Any
    tokenizer_dir: str
    path: str


class _Streamer:
    """transformers streamer that hands generated token ids to a queue (the prompt, sent first, is skipped)."""

    def __init__(self) -> None:
        self.queue: queue.Queue = queue.Queue()
        self.prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        for token in value.reshape(-1).tolist():
            self.queue.put(token)

    def end(self) -> None:
        self.queue.put(None)


def _hf_generation_config(cfg: GenerationConfig, stop_ids: set[int], pad_id: int):
    from transformers import GenerationConfig as HFGenerationConfig

    sampling = {} if cfg.greedy else {"temperature": cfg.temperature, "top_k": cfg.top_k, "top_p": cfg.top_p}
    return HFGenerationConfig(
        max_new_tokens=cfg.max_new_tokens,
        do_sample=not cfg.greedy,
        repetition_penalty=cfg.repetition_penalty,
        eos_token_id=None if cfg.ignore_eos else sorted(stop_ids),
        pad_token_id=pad_id,
        **sampling,
    )


# --------------------------------------------------------------------------------------------------------------
# the public API


def _load_tokenizer(folder: str):
    """transformers' tokenizer of a folder (chat template included); a GPT-2 style folder (vocab.json and
    merges.txt only, which AutoTokenizer cannot open beside a Llama config) is wrapped by hand."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    try:
        return AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, TypeError, KeyError):
        from corpus.tokenization import load_tokenizer

        loaded = load_tokenizer(folder)
        loaded.tokenizer.encode_special_tokens = False  # prompts may hold role markers
        return PreTrainedTokenizerFast(
            tokenizer_object=loaded.tokenizer, eos_token=loaded.eos_token, bos_token=loaded.bos_token
        )


class Generator:
    """Generation from one model: `Generator.load(path)` or `Generator(LoadedModel)`."""

    def __init__(self, loaded: LoadedModel | HFModel, tokenizer: Any = None) -> None:
        self.loaded = loaded
        self.path = loaded.path
        self.tokenizer = tokenizer if tokenizer is not None else _load_tokenizer(loaded.tokenizer_dir)
        self.model = loaded.model
        self.device = next(self.model.parameters()).device
        if isinstance(loaded, HFModel):
            self.backend = "transformers"
            config = self.model.config
            self.max_seq_len = int(
                getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", 2048)
            )
        else:
            self.backend = "gpt"
            self.max_seq_len = self.model.config.max_seq_len
        self.notes: list[str] = []  # what the user should know (a chat template that was substituted)
        if not getattr(self.tokenizer, "chat_template", None):
            self.tokenizer.chat_template = FALLBACK_TEMPLATE
            self.notes.append(
                f"{loaded.tokenizer_dir} has no chat template; using corpus's "
                "<|bos|><|role|>content<|end|> template"
            )
            log.warning(self.notes[-1])
        self.stop_ids = self._end_token_ids()
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else (self.tokenizer.eos_token_id or 0)

    @classmethod
    def load(cls, path: str, device: str | torch.device = "cpu", checkpoint: str = "best") -> Generator:
        """A trainer run, a checkpoint folder, or a local HF causal-LM folder (Llama-family ones run on the
        trainer's GPT with its KV cache, others on transformers' generate())."""
        path = os.fspath(path)
        if os.path.isdir(path) and not is_run(path) and is_hf_folder(path) and not _gpt_can_run(path):
            return cls(_load_hf_causal_lm(path, device))
        return cls(load_model(path, device, checkpoint))

    @property
    def name(self) -> str:
        return os.path.basename(os.path.normpath(self.path)) or self.path

    def _end_token_ids(self) -> set[int]:
        ids = set()
        if self.tokenizer.eos_token_id is not None:
            ids.add(self.tokenizer.eos_token_id)
        vocab = self.tokenizer.get_vocab()
        ids.update(vocab[t] for t in END_TOKENS if t in vocab)
        generation = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        config = os.path.join(self.loaded.tokenizer_dir, "generation_config.json")
        if generation is None and os.path.isfile(config):  # an HF folder running on the trainer's GPT
            with open(config, encoding="utf-8") as f:
                generation = json.load(f).get("eos_token_id")
        if generation is not None:
            ids.update(generation if isinstance(generation, list) else [generation])
        return ids

    # -- prompts

    def encode(self, text: str) -> list[int]:
        """A plain prompt's ids, with the tokenizer's own special tokens (a Llama tokenizer's BOS), as
        transformers encodes it: a run and its Hugging Face export get the same ids."""
        return self.tokenizer(text, add_special_tokens=True)["input_ids"]

    def chat_prompt(self, messages: list[dict[str, str]]) -> str:
        """The conversation rendered by the tokenizer's chat template, ending with the assistant's cue."""
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def encode_chat(self, messages: list[dict[str, str]]) -> list[int]:
        # the template writes the BOS itself
        return self.tokenizer(self.chat_prompt(messages), add_special_tokens=False)["input_ids"]

    # -- generation

    def new_sequence(self, prompt_ids: list[int], cfg: GenerationConfig, seed: int | None = None) -> Sequence:
        """A sequence ready for a DecodeBatch; InputError when the prompt does not fit the model."""
        if not prompt_ids:
            raise InputError("empty prompt")
        if len(prompt_ids) >= self.max_seq_len:
            raise InputError(
                f"prompt of {len(prompt_ids)} tokens; the model has {self.max_seq_len} positions"
            )
        limit = min(cfg.max_new_tokens, self.max_seq_len - len(prompt_ids))
        return Sequence(prompt_ids, cfg, self.tokenizer, self.stop_ids, limit, seed, self.device)

    def generate_ids(self, prompts: list[list[int]], cfg: GenerationConfig) -> list[Completion]:
        """Continue token-id prompts, all in one batch; row i samples with seed cfg.seed + i."""
        cfg.check()
        if not prompts:
            return []
        seqs = [self.new_sequence(p, cfg, _row_seed(cfg, i)) for i, p in enumerate(prompts)]
        if self.backend == "transformers":
            self._hf_generate(seqs, cfg)
        else:
            batch = DecodeBatch(self.model, self.pad_id)
            batch.add(seqs)
            while batch.rows:
                batch.step()
        return [s.completion() for s in seqs]

    def generate(self, prompts: list[str], cfg: GenerationConfig) -> list[Completion]:
        return self.generate_ids([self.encode(p) for p in prompts], cfg)

    def chat(self, messages: list[dict[str, str]], cfg: GenerationConfig) -> Completion:
        return self.generate_ids([self.encode_chat(messages)], cfg)[0]

    def chat_batch(
        self, conversations: list[list[dict[str, str]]], cfg: GenerationConfig
    ) -> list[Completion]:
        return self.generate_ids([self.encode_chat(m) for m in conversations], cfg)

    def stream_ids(self, prompt_ids: list[int], cfg: GenerationConfig) -> Iterator[str]:
        """The reply's text piece by piece; never splits a UTF-8 character or shows part of a stop string.
        The finished sequence's Completion is the generator's return value."""
        cfg.check()
        seq = self.new_sequence(prompt_ids, cfg, cfg.seed)
        if self.backend == "transformers":
            yield from self._hf_stream(seq, cfg)
            return seq.completion()
        batch = DecodeBatch(self.model, self.pad_id)
        batch.add([seq])
        while True:
            piece = seq.take()
            if piece:
                yield piece
            if not batch.rows:
                return seq.completion()
            batch.step()

    def stream(self, prompt: str, cfg: GenerationConfig) -> Iterator[str]:
        return self.stream_ids(self.encode(prompt), cfg)

    def stream_chat(self, messages: list[dict[str, str]], cfg: GenerationConfig) -> Iterator[str]:
        return self.stream_ids(self.encode_chat(messages), cfg)

    # -- transformers backend

    def _hf_inputs(self, seqs: list[Sequence]) -> tuple[torch.Tensor, torch.Tensor]:
        ids, valid = _left_pad([s.prompt_ids for s in seqs], self.pad_id, self.device)
        return ids, valid.long()

    def _hf_run(self, seqs: list[Sequence], cfg: GenerationConfig, **kwargs) -> torch.Tensor:
        ids, mask = self._hf_inputs(seqs)
        gen_cfg = _hf_generation_config(cfg, seqs[0].stop_ids or self.stop_ids, self.pad_id)
        gen_cfg.max_new_tokens = max(s.limit for s in seqs)
        if cfg.stop:
            gen_cfg.stop_strings = cfg.stop
            kwargs["tokenizer"] = self.tokenizer
        with torch.inference_mode(), torch.random.fork_rng(devices=[]):
            if (
                cfg.seed is not None
            ):  # generate() draws from the global generator; forked, so it is left alone
                torch.manual_seed(cfg.seed)
            return self.model.generate(
                input_ids=ids, attention_mask=mask, generation_config=gen_cfg, **kwargs
            )

    def _hf_generate(self, seqs: list[Sequence], cfg: GenerationConfig) -> None:
        out = self._hf_run(seqs, cfg)
        width = out.shape[1] - max(len(s.prompt_ids) for s in seqs)
        for seq, row in zip(seqs, out[:, out.shape[1] - width :].tolist(), strict=True):
            for token in row:
                if seq.finished:
                    break
                seq.push(token)
            seq.finish("length")

    def _hf_stream(self, seq: Sequence, cfg: GenerationConfig) -> Iterator[str]:
        from transformers import StoppingCriteria, StoppingCriteriaList

        cancelled = threading.Event()

        class Cancelled(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return torch.full((input_ids.shape[0],), cancelled.is_set(), dtype=torch.bool)

        streamer = _Streamer()
        errors: list[BaseException] = []

        def run() -> None:
            try:
                self._hf_run(
                    [seq], cfg, streamer=streamer, stopping_criteria=StoppingCriteriaList([Cancelled()])
                )
            except BaseException as err:  # handed to the consumer below
                errors.append(err)
                streamer.end()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            while (token := streamer.queue.get()) is not None:
                if not seq.finished:
                    seq.push(token)
                    if seq.finished:
                        cancelled.set()
                piece = seq.take()
                if piece:
                    yield piece
            seq.finish("length")
            piece = seq.take()
            if piece:
                yield piece
        finally:
            cancelled.set()
            thread.join()
        if errors:
            raise errors[0]


def _row_seed(cfg: GenerationConfig, row: int) -> int | None:
    return None if cfg.seed is None else cfg.seed + row


def _gpt_can_run(path: str) -> bool:
    """Whether an HF folder is a Llama-family model the trainer's GPT represents exactly."""
    try:
        with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
        if config.get("model_type") not in LLAMA_TYPES:
            return False
        hf_model_config(config, path)
        return True
    except InputError:
        return False
    except (OSError, ValueError, KeyError, TypeError):
        return True  # load_model reports what is wrong with the folder


def _load_hf_causal_lm(path: str, device: str | torch.device) -> HFModel:
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(f"{path} is not a causal language model transformers can load: {first}") from None
    return HFModel(model.to(device).eval(), path, path)
