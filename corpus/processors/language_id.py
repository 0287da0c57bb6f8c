"""Step `language_id`: language identification with py3langid, whose model ships inside its wheel."""

from __future__ import annotations

import re
from array import array
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

    arrays = _model_arrays()
    model = LanguageIdentifier(
        np.asarray(arrays["ptc"]),
        np.asarray(arrays["pc"]),
        arrays["classes"].tolist(),
        _stdlib_array(arrays["nextmove"]),
        arrays["out_feat"].tolist(),
        norm_probs=True,
        tk_row=_stdlib_array(arrays["nextmove_row"]),
    )
    if languages:
        model.set_languages(list(languages))
    return model


def _model_arrays() -> dict[str, np.ndarray]:
    """py3langid's model as plain arrays. The wheel ships it xz-compressed, and decompressing it takes most of
    a second on every run; the decompressed arrays are cached (corpus.cache), keyed by the model file's hash."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE
    from py3langid.modelio import load_model

    path = str(MODEL_DIR / MODEL_FILE)

    def build() -> dict[str, np.ndarray]:
        ptc, pc, classes, nextmove, row, out_feat = load_model(path)  # py3langid's own loader and checks
        return {
            "ptc": ptc,
            "pc": pc,
            "classes": np.array(classes),
            "nextmove": np.frombuffer(nextmove, dtype=f"u{nextmove.itemsize}"),
            "nextmove_row": np.frombuffer(row, dtype=f"u{row.itemsize}"),
            "out_feat": np.asarray(out_feat, dtype=np.int64),
        }

    return cached_arrays(f"py3langid-model-{file_digest(path, algorithm='xxh3_128')}", build)


def _stdlib_array(values: np.ndarray) -> array:
    """py3langid walks its automaton with Python indexing, fastest on a stdlib array."""
    out = array({2: "H", 4: "I", 8: "L"}[values.dtype.itemsize])
    out.frombytes(np.ascontiguousarray(values).tobytes())
    return out


def supported_languages() -> tuple[str, ...]:
    return tuple(identifier().nb_classes)


class LanguageId(DocumentStep):
    """Identify the language of each document (ISO 639-1 code in metadata.language, probability in
    metadata.language_score) from its first `max_chars` characters; conversations are judged on their turns'
    contents, not the role labels. Text with no letter gets language "und" and score 0. With `languages`, only
    those are kept (others dropped as wrong_language); `min_score` drops less certain documents as
    low_language_score. `candidates` restricts the model to a set of languages (sharper on short texts)."""

    name = "language_id"

    def __init__(
        self,
        languages: list[str] | None = None,
        min_score: float = 0.0,
        max_chars: int = 1000,
        candidates: list[str] | None = None,
    ) -> None:
        self.validate_options({"languages": languages, "candidates": candidates, "min_score": min_score})
        super().__init__()
        self.languages = set(languages or [])
        self.min_score, self.max_chars = float(min_score), max_chars
        self.candidates = tuple(sorted(candidates or []))
        # loaded here, in the driver, so that forked workers share one copy instead of loading one each (1 s)
        identifier(self.candidates)

    @classmethod
    def validate_options(cls, options: dict[str, Any]) -> None:
        for key in ("languages", "candidates"):
            if not options.get(key):
                continue
            known = set(supported_languages())
            unknown = [code for code in options.get(key) or [] if code not in known]
            if unknown:
                raise RecipeError(
                    f"step 'language_id': {key} holds unknown language code(s) {', '.join(map(str, unknown))}; "
                    f"known: {', '.join(sorted(known))}"
                )
        if not 0 <= options.get("min_score", 0.0) <= 1:
            raise RecipeError("step 'language_id': min_score must be in [0, 1]")

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
        doc.metadata["language"], doc.metadata["language_score"] = language, round(float(score), 4)
        self.stat_update(f"language_{language}")
        if self.languages and language not in self.languages:
            return "wrong_language"
        if score < self.min_score:
            return "low_language_score"
        return None
