"""Loading any tokenizer corpus can use: a folder it trained, a Hugging Face folder or `tokenizer.json`, or a
GPT-2 style folder with only `vocab.json` + `merges.txt` (../shared/data/tokenizers/gpt2).

Every loaded tokenizer carries a content hash, so token shards can record which tokenizer made them and a
trainer can refuse shards made with another one. The hash is the sha256 of the canonical JSON that
`tokenizers` serializes the loaded tokenizer to (`Tokenizer.to_str()`: fixed key order, vocabulary by id, no
whitespace), so re-saving a tokenizer.json pretty-printed, compact or with sorted keys keeps its hash, and a
GPT-2 style folder hashes like the tokenizer.json it converts to. The serialization belongs to the installed
`tokenizers`, so a new major version of it may change the hash of an unchanged file; `file_sha256` is the hash
of the file bytes, also recorded in meta.json, and accepted as a second witness by the shard check.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

from tokenizers import Tokenizer, decoders, models, pre_tokenizers

from corpus.errors import InputError
from corpus.files import file_digest

BOS, EOS, PAD, END = "<|bos|>", "<|eos|>", "<|pad|>", "<|end|>"
ROLES = ("system", "user", "assistant")
SPECIAL_TOKENS = (BOS, EOS, PAD, "<|system|>", "<|user|>", "<|assistant|>", END)
# what marks a document boundary in tokenizers we did not train, in order of preference
EOS_CANDIDATES = (EOS, "<|endoftext|>", "</s>", "<eos>", "<|end_of_text|>")
BOS_CANDIDATES = (BOS, "<s>", "<bos>", "<|begin_of_text|>")


@dataclass
class LoadedTokenizer:
    """A `tokenizers.Tokenizer` plus what corpus needs to know about it."""

    tokenizer: Tokenizer
    path: str
    sha256: str  # canonical_sha256: what token shards record and the shard check compares
    file_sha256: str  # the bytes of tokenizer.json (or vocab.json then merges.txt)
    eos_token: str
    eos_id: int
    bos_token: str | None
    bos_id: int | None
    vocab_size: int  # largest id + 1, added tokens included
    _markers: dict[str, list[int]] = field(default_factory=dict, repr=False)

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """Ids of each text, with special-token strings inside the text encoded as ordinary text, so a document
        that happens to contain "<|eos|>" can never forge a boundary."""
        # encode_batch_fast (tokenizers >= 0.21) skips computing character offsets, which corpus never uses
        encode = getattr(self.tokenizer, "encode_batch_fast", self.tokenizer.encode_batch)
        return [e.ids for e in encode(texts, add_special_tokens=False)]

    def marker(self, text: str) -> list[int]:
        """Ids of a structural marker such as "<|user|>": its special token when the vocabulary has one,
        otherwise the marker spelled as ordinary text (GPT-2 has no role tokens)."""
        if text not in self._markers:
            token_id = self.tokenizer.token_to_id(text)
            self._markers[text] = [token_id] if token_id is not None else self.encode_batch([text])[0]
        return self._markers[text]

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False)


HASH_OF = "sha256 of the canonical tokenizer JSON (tokenizers Tokenizer.to_str())"


def canonical_sha256(tok: Tokenizer) -> str:
    """sha256 of the tokenizer as `tokenizers` serializes it: independent of how its file was formatted."""
    return hashlib.sha256(tok.to_str().encode("utf-8")).hexdigest()


def _token_name(value: object) -> str | None:
    """tokenizer_config.json spells special tokens as a string or as {"content": ...}."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def _resolve(path: str) -> tuple[str, str | None, tuple[str, str] | None]:
    """(folder holding any config, tokenizer.json path or None, (vocab.json, merges.txt) or None)."""
    if os.path.isfile(path):
        if not path.endswith(".json"):
            raise InputError(f"tokenizer {path}: expected a tokenizer.json file or a tokenizer folder")
        return os.path.dirname(path) or ".", path, None
    if not os.path.isdir(path):
        raise InputError(f"tokenizer not found: {path}")
    if os.path.isfile(os.path.join(path, "tokenizer.json")):
        return path, os.path.join(path, "tokenizer.json"), None
    vocab, merges = os.path.join(path, "vocab.json"), os.path.join(path, "merges.txt")
    if os.path.isfile(vocab) and os.path.isfile(merges):
        return path, None, (vocab, merges)
    raise InputError(f"tokenizer {path}: folder has neither tokenizer.json nor vocab.json + merges.txt")


def _gpt2_style(vocab: str, merges: str) -> Tokenizer:
    tok = Tokenizer(models.BPE.from_file(vocab, merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    # the boundary token sits in vocab.json as a plain entry; registering it keeps its id and marks it special
    present = [t for t in EOS_CANDIDATES + BOS_CANDIDATES if t in tok.get_vocab()]
    if present:
        tok.add_special_tokens(present)
    return tok


def _pick(tok: Tokenizer, configured: str | None, candidates: tuple[str, ...]) -> tuple[str, int] | None:
    for name in ([configured] if configured else []) + list(candidates):
        token_id = tok.token_to_id(name)
        if token_id is not None:
            return name, token_id
    return None


def _open(path: str, json_path: str | None, pair: tuple[str, str] | None) -> Tokenizer:
    try:
        return Tokenizer.from_file(json_path) if json_path else _gpt2_style(*pair)
    except Exception as err:  # tokenizers raises plain Exceptions for malformed files
        raise InputError(f"tokenizer {path} cannot be loaded: {str(err).splitlines()[0]}") from None


def load_tokenizer(path: str) -> LoadedTokenizer:
    """Load a tokenizer folder or tokenizer.json; fail with one clear line if it is not usable."""
    path = os.fspath(path)
    folder, json_path, pair = _resolve(path)
    tok = _open(path, json_path, pair)
    sha = canonical_sha256(tok)  # before any runtime setting, so the hash is the file's content alone
    tok.encode_special_tokens = True  # see LoadedTokenizer.encode_batch
    config = {}
    config_path = os.path.join(folder, "tokenizer_config.json")
    if os.path.isfile(config_path):
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
    eos = _pick(tok, _token_name(config.get("eos_token")), EOS_CANDIDATES)
    if eos is None:
        raise InputError(
            f"tokenizer {path} has no end-of-document token (looked for {', '.join(EOS_CANDIDATES)} "
            "and tokenizer_config.json eos_token)"
        )
    bos = _pick(tok, _token_name(config.get("bos_token")), BOS_CANDIDATES)
    vocab = tok.get_vocab(with_added_tokens=True)
    return LoadedTokenizer(
        tokenizer=tok,
        path=path,
        sha256=sha,
        file_sha256=file_digest(json_path) if json_path else file_digest(*pair),
        eos_token=eos[0],
        eos_id=eos[1],
        bos_token=bos[0] if bos else None,
        bos_id=bos[1] if bos else None,
        vocab_size=max(vocab.values()) + 1,
    )


def tokenizer_hash(path: str) -> str:
    """The content hash token shards record for this tokenizer (see the module docstring)."""
    path = os.fspath(path)
    _, json_path, pair = _resolve(path)
    return canonical_sha256(_open(path, json_path, pair))
