"""Step `language_id`: language identification with py3langid, whose model ships inside its wheel."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import numpy as np
from datatrove.data import Document

from corpus.cache import cached_arrays
from corpus.errors import RecipeError
from corpus.files import file_digest
from corpus.step import DocumentStep

_LETTER = re.compile(r"[^\W\d_]")


@cache
def identifier(languages: tuple[str, ...] = ()):
    """One model per process (70 MB in memory), never pickled with the step: the driver loads it when the step
    is built, forked workers inherit it, and Ray workers load it on first use."""
    from py3langid.langid import LanguageIdentifier

    class VectorIdentifier(LanguageIdentifier):
        """py3langid's model and scoring, with its automaton walk done by numpy (`_visits`): the same
        feature counts in the same order, so the same language and score; classify 1.8x faster on
        python-docs pages."""

        __slots__ = ("_walk",)

        def _raw_score(self, text: bytes):
            visits = _visits(self._walk, self.tk_output, text)
            if visits:
                return self._sparse_score(visits, self.nb_ptc)
            return super()._raw_score(b"")  # no feature: the library's own fill value

    arrays = _model_arrays()
    model = VectorIdentifier(
        np.asarray(arrays["ptc"]),
        np.asarray(arrays["pc"]),
        arrays["classes"].tolist(),
        np.asarray(arrays["nextmove"]),
        np.asarray(arrays["out_feat"]),
        norm_probs=True,
        tk_row=arrays["nextmove_row"].tolist(),
    )
    rowbase = np.asarray(arrays["nextmove_row"], np.int64) << 8
    model._walk = np.asarray(arrays["nextmove"]), rowbase, int(arrays["trie_depth"][0])
    if languages:
        model.set_languages(list(languages))
    return model


def _trie_depth(nextmove: np.ndarray, row: np.ndarray) -> int:
    """The length of the longest byte string a state of py3langid's automaton stands for. Its automaton is
    Aho-Corasick's over byte n-grams: after each byte it is in the trie node of the longest suffix, read so far,
    that is a node. So the state at any position is the one reached by reading the last `depth` bytes from
    the root, and every position can be walked at once (`_visits`). A state's bytes are the shortest path to it
    from the root, so one breadth-first walk of the transition table finds every depth."""
    depth = np.full(len(row), -1, np.int64)
    depth[0] = 0
    frontier, level = np.zeros(1, np.int64), 0
    while len(frontier):
        level += 1
        targets = nextmove[(row[frontier].astype(np.int64) << 8)[:, None] + np.arange(256)]
        targets = np.unique(targets[depth[targets] < 0])  # trie children; other moves fall back
        depth[targets] = level
        frontier = targets
    if (depth < 0).any():
        raise ValueError("py3langid's automaton has states that no text reaches")
    return int(depth.max())


def _visits(
    walk: tuple[np.ndarray, np.ndarray, int], output: np.ndarray, text: bytes
) -> dict[int, int] | None:
    """py3langid's visit_counts(...), for all positions at once: {feature: count} in order of first
    occurrence, or None without any."""
    if not text:
        return None
    nextmove, rowbase, depth = walk
    data = np.frombuffer(text, np.uint8)
    state = np.zeros(len(data), np.int64)
    # the state at i: the last `depth` bytes up to i, read from the root, one byte position per round
    for k in range(min(depth, len(data)) - 1, -1, -1):
        state[k:] = nextmove[rowbase[state[k:]] + data[: len(data) - k]]
    features = output[state]
    features = features[features >= 0]
    if not len(features):
        return None
    found, first, counts = np.unique(features, return_index=True, return_counts=True)
    order = np.argsort(first)
    return dict(zip(found[order].tolist(), counts[order].tolist()))


def _model_arrays() -> dict[str, np.ndarray]:
    """py3langid's model as plain arrays. The wheel ships it xz-compressed, and decompressing it takes most of
    a second on every run; the decompressed arrays are cached (corpus.cache), keyed by the model file's hash."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE
    from py3langid.modelio import load_model

    path = str(MODEL_DIR / MODEL_FILE)

    def build() -> dict[str, np.ndarray]:
        ptc, pc, classes, nextmove, row, out_feat = load_model(path)  # py3langid's own loader and checks
        nextmove = np.frombuffer(nextmove, dtype=f"u{nextmove.itemsize}")
        row = np.frombuffer(row, dtype=f"u{row.itemsize}")
        return {
            "ptc": ptc,
            "pc": pc,
            "classes": np.array(classes),
            "nextmove": nextmove,
            "nextmove_row": row,
            "out_feat": np.asarray(out_feat, dtype=np.int64),
            "trie_depth": np.array([_trie_depth(nextmove, row)]),
        }

    return cached_arrays(f"py3langid-model-v3-{file_digest(path, algorithm='xxh3_128')}", build)


def supported_languages() -> tuple[str, ...]:
    return tuple(identifier().nb_classes)


# Below this probability the model's best guess is more often wrong than a reader would accept, so the step
# says "und". Measured on the 28-language chatterbot dialogs (../shared/data/chatterbot, 7,605 conversations,
# 19,504 single utterances): conversations scored under 0.5 were right 67% of the time (those over it 99.3%),
# utterances 58% (98.0% over it); English utterances tagged as another language fall from 7.6% to 0.1%, while
# 3.6% of the conversations (18% of the utterances) become "und". Text length adds little once the score is
# known: under 10 letters, 83% are right, and most wrong ones already score under 0.5.
UNDETERMINED_BELOW = 0.5


class LanguageId(DocumentStep):
    """Identify the language of each document from its first `max_chars` characters (conversations are judged
    on their turns' contents, not the role labels): the code goes to metadata.language, the model's probability
    for its best guess to metadata.language_score, and a counter lang_<code> counts each language. Codes:
    ISO 639-1 where the language has one, else ISO 639-3 (pcm, fuv, kab, yue, ...), zxx for no linguistic
    content, und (undetermined) for text with no letter or a best guess scoring under `undetermined_below`
    (0.5, measured on short chats: below it the guess is wrong about a third of the time). Nothing is dropped
    unless asked: with `languages`, only those are kept (others dropped as wrong_language, und ones as
    undetermined_language; list "und" to keep them); `min_score` drops less certain documents as
    low_language_score. `candidates` restricts the model to a set of languages (sharper on short texts)."""

    name = "language_id"

    def __init__(
        self,
        languages: list[str] | None = None,
        min_score: float = 0.0,
        max_chars: int = 1000,
        candidates: list[str] | None = None,
        undetermined_below: float = UNDETERMINED_BELOW,
    ) -> None:
        self.validate_options(
            {
                "languages": languages,
                "candidates": candidates,
                "min_score": min_score,
                "undetermined_below": undetermined_below,
            }
        )
        super().__init__()
        self.languages = set(languages or [])
        self.min_score, self.max_chars = float(min_score), max_chars
        self.undetermined_below = float(undetermined_below)
        self.candidates = tuple(sorted(candidates or []))
        # loaded here, in the driver, so that forked workers share one copy instead of loading one each (1 s)
        identifier(self.candidates)

    @classmethod
    def validate_options(cls, options: dict[str, Any]) -> None:
        for key in ("languages", "candidates"):
            if not options.get(key):
                continue
            known = set(supported_languages()) | ({"und"} if key == "languages" else set())
            unknown = [code for code in options.get(key) or [] if code not in known]
            if unknown:
                raise RecipeError(
                    f"step 'language_id': {key} holds unknown language code(s) {', '.join(map(str, unknown))}; "
                    f"known: {', '.join(sorted(known))}"
                )
        for key in ("min_score", "undetermined_below"):
            if not 0 <= options.get(key, 0.0) <= 1:
                raise RecipeError(f"step 'language_id': {key} must be in [0, 1]")

    def sample(self, doc: Document) -> str:
        turns = doc.metadata.get("turns")
        text = "\n".join(t["content"] for t in turns) if turns else doc.text
        return text[: self.max_chars]

    def apply(self, doc: Document) -> bool | str | None:
        text = self.sample(doc)
        if not _LETTER.search(text):
            language, score = "und", 0.0
        else:
            language, score = identifier(self.candidates).classify(text)
            if score < self.undetermined_below:
                language = "und"
        doc.metadata["language"], doc.metadata["language_score"] = language, round(float(score), 4)
        # "lang_", not "language_": Indonesian's counter would be "language_id", the step's own name
        self.stat_update(f"lang_{language}")
        if self.languages and language not in self.languages:
            return "undetermined_language" if language == "und" else "wrong_language"
        if score < self.min_score:
            return "low_language_score"
        return None
