"""Validation loss, perplexity and bits per byte over a whole split of token shards, and the batch builder that
training shares with it (windows of tokens, loss masks, per-document attention).

Bits per byte = total nats / ln 2 / the split's UTF-8 bytes (`text_bytes` in meta.json, or `mask_text_bytes`
when the loss is taken on masked tokens only), so models with different tokenizers compare on the same text.
The split is read in consecutive non-overlapping windows of seq_len targets (each window sees the token before
it as its first input), the last partial window included: every token but the very first is predicted once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from corpus.errors import InputError
from trainer.model import GPT, IGNORE_INDEX


@dataclass
class Batch:
    x: torch.Tensor  # (B, T) inputs
    y: torch.Tensor  # (B, T) targets, IGNORE_INDEX where not trained
    positions: torch.Tensor | None  # (B, T) position of each token in its document (doc attention only)
    attn_mask: torch.Tensor | None  # (B, 1, T, T) True where a query may attend a key (doc attention only)


def make_batch(
    tokens: np.ndarray,
    starts: np.ndarray | list[int],
    seq_len: int,
    mask: np.ndarray | None = None,
    offsets: np.ndarray | None = None,
) -> Batch:
    """Windows tokens[s : s + seq_len + 1] for each start s (all of the same length; the caller cuts them).
    A loss mask drops the targets whose token is not trained on (prompts of a chat). With `offsets` (the
    document index), attention stays inside each document and positions restart at every document start, so
    packed documents do not see each other."""
    rows = np.stack([np.asarray(tokens[s : s + seq_len + 1], dtype=np.int64) for s in starts])
    x = torch.from_numpy(rows[:, :-1].copy())
    y = torch.from_numpy(rows[:, 1:].copy())
    if mask is not None:
        trained = np.stack([np.asarray(mask[s + 1 : s + seq_len + 1]) for s in starts])
        y[torch.from_numpy(trained == 0)] = IGNORE_INDEX
    if offsets is None:
        return Batch(x, y, None, None)
    pos = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(seq_len)[None, :]
    doc = np.searchsorted(offsets, pos, side="right") - 1
    # a document cut by the window's start begins at the window's first token
    doc_start = np.maximum(np.asarray(offsets)[doc], pos[:, :1])
    positions = torch.from_numpy(pos - doc_start)
    doc_t = torch.from_numpy(doc)
    same_doc = doc_t[:, :, None] == doc_t[:, None, :]
    causal = torch.ones(seq_len, seq_len, dtype=torch.bool).tril()
    return Batch(x, y, positions, (same_doc & causal)[:, None])


def to_device(batch: Batch, device: torch.device | str) -> Batch:
    def move(t):
        return None if t is None else t.to(device, non_blocking=True)

    return Batch(move(batch.x), move(batch.y), move(batch.positions), move(batch.attn_mask))


@torch.no_grad()
def loss_sums(
    model: torch.nn.Module,
    tokens: np.ndarray,
    seq_len: int,
    device: torch.device | str,
    mask: np.ndarray | None = None,
    offsets: np.ndarray | None = None,
    batch_size: int = 8,
    max_tokens: int = 0,
    rank: int = 0,
    world: int = 1,
    amp_dtype: torch.dtype | None = None,
) -> tuple[float, int]:
    """(summed nats, counted targets) over consecutive windows of the split (the first max_tokens only, when
    set). Under DDP each rank takes every world-th window; the caller all-reduces the sums."""
    n = len(tokens) if not max_tokens else min(len(tokens), max_tokens + 1)
    starts = list(range(0, n - 1, seq_len))[rank::world]
    full = [s for s in starts if s + seq_len + 1 <= n]
    last = [s for s in starts if s + seq_len + 1 > n]
    nats, count = 0.0, 0
    was_training = model.training
    model.eval()
    groups = [(full[i : i + batch_size], seq_len) for i in range(0, len(full), batch_size)]
    groups += [([s], n - 1 - s) for s in last]
    for group, length in groups:
        batch = to_device(make_batch(tokens, group, length, mask, offsets), device)
        with torch.autocast(torch.device(device).type, dtype=amp_dtype, enabled=amp_dtype is not None):
            nats += float(
                model(batch.x, batch.y, positions=batch.positions, attn_mask=batch.attn_mask, reduction="sum")
            )
        count += int((batch.y != IGNORE_INDEX).sum())
    model.train(was_training)
    return nats, count


def summarize(nats: float, count: int, text_bytes: int) -> dict:
    loss = nats / count if count else float("nan")
    return {
        "loss": loss,
        "perplexity": math.exp(min(loss, 700.0)) if count else float("nan"),
        "bpb": nats / math.log(2) / text_bytes if text_bytes else float("nan"),
        "tokens": count,
        "bytes": text_bytes,
    }


def evaluate_lm(
    model,  # str | LoadedModel
    tokens: str,
    split: str = "val",
    seq_len: int | None = None,
    device: str = "cpu",
    batch_size: int = 8,
    doc_attention: bool = False,
) -> dict:
    """Loss, perplexity and bits per byte of a model (a run, checkpoint or HF Llama folder, or a LoadedModel)
    on a split of token shards made with the model's tokenizer (others are refused). Loss masks are honoured:
    on conversations the loss and the bytes are those of the replies."""
    from corpus.tokenization import TokenShards
    from trainer.checkpoint import LoadedModel, load_model

    loaded: LoadedModel = model if isinstance(model, LoadedModel) else load_model(model, device=device)
    gpt: GPT = loaded.model
    shards = TokenShards(tokens, tokenizer=loaded.tokenizer_dir)
    if shards.vocab_size > gpt.config.vocab_size:
        raise InputError(
            f"the shards' vocabulary ({shards.vocab_size:,}) is larger than the model's embedding "
            f"({gpt.config.vocab_size:,})"
        )
    seq_len = seq_len or gpt.config.max_seq_len
    if seq_len > gpt.config.max_seq_len:
        raise InputError(f"--seq-len {seq_len} is longer than the model's {gpt.config.max_seq_len} positions")
    data = shards.tokens(split)
    if len(data) < 2:
        raise InputError(f"the {split} split of {tokens} has no tokens to evaluate on")
    mask = shards.mask(split)
    gpt.to(device)
    # doc_attention: documents do not see each other, as in a run trained with it (fine-tuning on chats)
    offsets = shards.offsets(split) if doc_attention else None
    nats, count = loss_sums(gpt, data, seq_len, device, mask=mask, offsets=offsets, batch_size=batch_size)
    text_bytes = shards.mask_text_bytes(split) if mask is not None else shards.text_bytes(split)
    out = summarize(nats, count, text_bytes)
    out.update(model=loaded.path, data=tokens, split=split, seq_len=seq_len, masked=mask is not None)
    return out
