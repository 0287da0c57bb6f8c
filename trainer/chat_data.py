"""Conversations as token shards for fine-tuning, rendered with the model's own chat template.

    encoder = chat_encoder("models/llama")            # the tokenizer folder decides the template
    encoded = encoder.encode(turns)                   # ids, loss mask, where each reply ends; or a reason
    write_chat_shards("RUN/chats", encoder, "RUN/data", val_fraction=0.1, seed=0)

Two encoders:

- `CorpusChats`: corpus's template (<|bos|><|user|>...<|end|><|assistant|>...<|end|>, see
  corpus/tokenization/chat.py), for the tokenizers corpus trains (they carry that template) and for tokenizers
  with no template at all. Same ids and mask as `corpus tokenize`.
- `TemplateChats`: the tokenizer's own Jinja template through transformers' `apply_chat_template`, the way
  `corpus chat`, `serve` and `evaluate --task chat` render prompts. An assistant turn's loss mask is the token
  span between the conversation rendered up to that turn with the generation prompt and the conversation
  rendered through the end of that turn: whatever the template writes after a reply (its end marker, a
  newline) is learned as the template spells it, and nothing of the prompts or of the assistant header. That
  needs each rendering to be a prefix of the next, in text and in tokens; a conversation for which a template
  breaks it is counted (`template_not_prefix`, `tokens_not_prefix`) and skipped, never guessed at.

`write_chat_shards` writes the format of `corpus tokenize` (train.bin/val.bin, offsets, loss masks, meta.json
with text bytes) with that format's own writer, so training, evaluation and the report read it unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from typing import Any

from corpus.errors import InputError
from corpus.files import write_atomic
from corpus.tokenization import CHAT_TEMPLATE, LoadedTokenizer, load_tokenizer
from corpus.tokenization.chat import chat_bytes, encode_chats

# the token-shard writer of `corpus tokenize`, reused so that there is one format and one writer of it
from corpus.tokenization.shards import (
    SPLITS,
    _files_present,
    _merge_split,
    _meta,
    _row_keys,
    _SplitBuffer,
    _sum_infos,
    choose_dtype,
    is_validation,
    read_part_info,
    shards_fingerprint,
    write_part,
)
from corpus.tokenization.source import list_dataset_shards, plan_units, read_unit
from trainer.hf import chat_template_of

ASSISTANT = "assistant"


@dataclass
class EncodedChat:
    """One conversation as the model sees it."""

    ids: list[int]  # without the end-of-document token
    mask: list[int]  # 1 on the tokens the loss covers: the assistant replies as the template renders them
    text_bytes: int  # UTF-8 bytes of the rendered conversation
    mask_bytes: int  # UTF-8 bytes of the rendered text under the mask
    reply_ends: list[tuple[int, int]]  # per assistant turn: (turns up to and with it, tokens up to its end)


class CorpusChats:
    """corpus's own chat template (corpus/tokenization/chat.py): the ids and mask `corpus tokenize` writes."""

    source = "corpus"

    def __init__(self, tok: LoadedTokenizer, template: str | None) -> None:
        self.tok = tok
        self.template = template  # the tokenizer's own (corpus's), or None: corpus's is used instead

    def encode(self, turns: list[dict[str, str]]) -> EncodedChat | str:
        encoded = encode_chats(self.tok, [turns])[0]
        if encoded is None:
            return "empty_conversation"
        ids, mask = encoded
        text_bytes, mask_bytes = chat_bytes(self.tok, turns)
        # each assistant turn is one run of 1s (its content and <|end|>): the role markers between are 0
        run_ends = [i + 1 for i, m in enumerate(mask) if m and (i + 1 == len(mask) or not mask[i + 1])]
        replies = [j + 1 for j, t in enumerate(turns) if t.get("role") == ASSISTANT]
        if len(run_ends) != len(replies):  # a reply with no tokens at all: nothing to learn from it
            return "empty_turn"
        return EncodedChat(ids, mask, text_bytes, mask_bytes, list(zip(replies, run_ends)))


def load_hf_tokenizer(folder: str) -> Any:
    """transformers' tokenizer of a model folder, as generation loads it (offline)."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise InputError(
            f"{folder}: its tokenizer carries a chat template but transformers cannot load it "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})"
        ) from None


class TemplateChats:
    """The tokenizer's own chat template, rendered by transformers' apply_chat_template."""

    source = "model"

    def __init__(self, folder: str, tok: LoadedTokenizer, template: str) -> None:
        self.tok = tok
        self.template = template
        self.hf = load_hf_tokenizer(folder)
        self.hf.chat_template = template
        # strings the tokenizer turns into one special id wherever they appear: inside a message they would
        # forge turn boundaries, so such a conversation is skipped rather than trained on
        self.special = [t for t in self.hf.get_added_vocab() if t.strip()]

    def render(self, turns: list[dict[str, str]], prompt: bool = False) -> str:
        return self.hf.apply_chat_template(turns, tokenize=False, add_generation_prompt=prompt)

    def encode(self, turns: list[dict[str, str]]) -> EncodedChat | str:
        from jinja2 import TemplateError

        turns = [{"role": t["role"], "content": t["content"]} for t in turns]
        if any(s in t["content"] for t in turns for s in self.special):
            return "special_token_in_content"
        replies = [j for j, t in enumerate(turns) if t["role"] == ASSISTANT]
        try:
            text = self.render(turns)
            spans = [(self.render(turns[:j], prompt=True), self.render(turns[: j + 1])) for j in replies]
        except (TemplateError, TypeError, ValueError, KeyError, IndexError):
            return (
                "template_error"  # templates may refuse a conversation (raise_exception), e.g. a system turn
            )
        if not all(text.startswith(through) and through.startswith(before) for before, through in spans):
            return "template_not_prefix"
        texts = [text] + [s for span in spans for s in span]
        ids, *rest = self.hf(texts, add_special_tokens=False)["input_ids"]  # the template writes the BOS
        mask, reply_ends, mask_bytes = [0] * len(ids), [], 0
        for j, (before, through), a, b in zip(replies, spans, rest[0::2], rest[1::2]):
            if ids[: len(b)] != b or b[: len(a)] != a:
                return "tokens_not_prefix"
            if len(b) == len(a):
                return "empty_turn"
            mask[len(a) : len(b)] = [1] * (len(b) - len(a))
            reply_ends.append((j + 1, len(b)))
            mask_bytes += len(through[len(before) :].encode("utf-8"))
        if ids and max(ids) >= self.tok.vocab_size:
            raise InputError(
                f"{self.tok.path}: transformers encodes ids up to {max(ids)}, beyond the {self.tok.vocab_size} "
                "of its tokenizer.json (tokens added only in tokenizer_config.json?); add them to tokenizer.json"
            )
        return EncodedChat(ids, mask, len(text.encode("utf-8")), mask_bytes, reply_ends)


def chat_encoder(tokenizer_dir: str) -> CorpusChats | TemplateChats:
    """The encoder for a tokenizer folder: its own template when it carries one other than corpus's, else
    corpus's (`.template` is None when the folder had none)."""
    tok = load_tokenizer(tokenizer_dir)
    template = chat_template_of(tokenizer_dir)
    if template is None or template == CHAT_TEMPLATE:
        return CorpusChats(tok, template)
    return TemplateChats(tokenizer_dir, tok, template)


# --------------------------------------------------------------------------------------------------------------
# the token shards

TEMPLATE_TEXT_BYTES_OF = (
    "UTF-8 bytes of the text the tokens decode to, end-of-document tokens excluded: a conversation rendered by "
    "the model's chat template, as encoded"
)
TEMPLATE_MASK_BYTES_OF = (
    "UTF-8 bytes of the text under the loss mask: per assistant turn, the rendering through the end of the "
    "turn minus the rendering up to it with the generation prompt"
)


def _template_id(encoder: CorpusChats | TemplateChats) -> dict[str, str]:
    template = encoder.template or CHAT_TEMPLATE
    return {"source": encoder.source, "sha256": hashlib.sha256(template.encode("utf-8")).hexdigest()}


def _done(out_dir: str, fingerprint: str, template: dict[str, str]) -> dict[str, Any] | None:
    path = os.path.join(out_dir, "meta.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        meta = json.load(f)
    same = meta.get("fingerprint") == fingerprint and meta.get("chat_template") == template
    return meta if same and _files_present(out_dir, meta) else None


def _write_unit(unit, encoder, opts: dict[str, Any], parts_dir: str) -> str:
    """One unit of the dataset as a part file, in the layout the shared merge step reads."""
    tok = encoder.tok
    bufs = {split: _SplitBuffer() for split in SPLITS}
    counters: dict[str, int] = {}
    for batch in read_unit(unit):
        keys = _row_keys(batch, batch.column("text").to_pylist())
        for key, turns in zip(keys, batch.column("turns").to_pylist()):
            encoded = encoder.encode(turns or [])
            if isinstance(encoded, str):
                counters[encoded] = counters.get(encoded, 0) + 1
                continue
            split = "val" if is_validation(key, opts["seed"], opts["val_fraction"]) else "train"
            bufs[split].add(encoded.ids, tok.eos_id, encoded.text_bytes, encoded.mask, encoded.mask_bytes)
            counters["conversations"] = counters.get("conversations", 0) + 1
    write_part(parts_dir, unit.name, bufs, counters, opts["dtype"])
    return os.path.join(parts_dir, unit.name + ".npz")


def write_chat_shards(
    chats_dir: str, encoder: CorpusChats | TemplateChats, out_dir: str, val_fraction: float, seed: int
) -> dict[str, Any]:
    """Token shards of the chat dataset `chats_dir` (conversations already checked), in the format of
    `corpus tokenize`, split by conversation id. Nothing is redone when `out_dir` already holds the shards of
    the same conversations, tokenizer, template and split (a resumed run). Returns meta.json."""
    tok = encoder.tok
    shards = list_dataset_shards(chats_dir)
    opts = {"val_fraction": float(val_fraction), "seed": int(seed), "dtype": choose_dtype(tok.vocab_size)}
    fingerprint = shards_fingerprint(shards, tok.sha256, opts)
    template = _template_id(encoder)
    done = _done(out_dir, fingerprint, template)
    if done is not None:
        return done
    # the folder is fine-tuning's own (RUN/data): whatever is there is stale or unfinished; meta.json comes
    # last, so a folder without one is never read as finished
    shutil.rmtree(out_dir, ignore_errors=True)
    parts_dir = os.path.join(out_dir, ".parts")
    os.makedirs(parts_dir)
    paths = [_write_unit(unit, encoder, opts, parts_dir) for unit in plan_units(shards)]
    splits, counters = _sum_infos([read_part_info(p) for p in paths])
    with_mask = any(splits[s]["conversations"] for s in SPLITS)
    for split in SPLITS:
        _merge_split(out_dir, paths, split, with_mask)
    meta = _meta(chats_dir, shards, tok, opts, fingerprint, splits, counters, with_mask, len(paths))
    meta["chat_template"] = template
    if encoder.source == "model":
        meta["text_bytes_of"], meta["mask_text_bytes_of"] = TEMPLATE_TEXT_BYTES_OF, TEMPLATE_MASK_BYTES_OF
    write_atomic(os.path.join(out_dir, "meta.json"), json.dumps(meta, indent=2) + "\n")
    shutil.rmtree(parts_dir)
    return meta
