"""Step `preprocess`: classical NLP preprocessing with nltk (lower-casing, stop-word and punctuation removal,
word or sentence tokenization). Every part is off by default: language-model corpora want the text as
written, classifiers and topic models often want it reduced."""

from __future__ import annotations

import string
import unicodedata
from typing import Any

from datatrove.data import Document

from corpus import nlp
from corpus.errors import RecipeError
from corpus.step import DocumentStep, is_blank, map_text

TOKENIZE = ("none", "words", "sentences")


def _is_punctuation(token: str) -> bool:
    return all(unicodedata.category(ch).startswith("P") or ch in string.punctuation for ch in token)


class Preprocess(DocumentStep):
    """`lowercase`; `remove_stopwords` (nltk's list for `language` when its stopwords data is installed,
    else the built-in English list; other languages then refuse the recipe); `remove_punctuation` (tokens made
    only of punctuation); `tokenize`: none (text keeps its lines, removals happen per word), words (each line
    becomes its word tokens joined by spaces) or sentences (one sentence per line). Tokenization uses nltk's
    word_tokenize / sent_tokenize when punkt_tab is installed, else a regex tokenizer, with one warning in
    the log. A document left empty is dropped as `empty_after_preprocess`."""

    name = "preprocess"

    def __init__(
        self,
        lowercase: bool = False,
        remove_stopwords: bool = False,
        remove_punctuation: bool = False,
        tokenize: str = "none",
        language: str = "english",
    ) -> None:
        self.validate_options(
            {"tokenize": tokenize, "remove_stopwords": remove_stopwords, "language": language}
        )
        super().__init__()
        self.lowercase, self.remove_stopwords, self.remove_punctuation = (
            lowercase,
            remove_stopwords,
            remove_punctuation,
        )
        self.tokenize, self.language = tokenize, nlp.nltk_language(language)
        self._stopwords: frozenset[str] | None = None

    @classmethod
    def validate_options(cls, options: dict[str, Any]) -> None:
        if options.get("tokenize", "none") not in TOKENIZE:
            raise RecipeError(
                f"step 'preprocess': tokenize must be one of {', '.join(TOKENIZE)}, got {options['tokenize']!r}"
            )
        if options.get("remove_stopwords"):
            try:
                nlp.stopwords(nlp.nltk_language(options.get("language", "english")))
            except LookupError as err:
                raise RecipeError(f"step 'preprocess': {err}") from None

    @property
    def active(self) -> bool:
        return self.lowercase or self.remove_stopwords or self.remove_punctuation or self.tokenize != "none"

    def _keep(self, token: str) -> bool:
        if self.remove_punctuation and _is_punctuation(token):
            return False
        if self.remove_stopwords:
            if self._stopwords is None:
                self._stopwords = nlp.stopwords(self.language)
            return token.lower() not in self._stopwords
        return True

    def process(self, text: str) -> str:
        if self.lowercase:
            text = text.lower()
        if self.tokenize == "sentences":
            units = nlp.sentences(text, self.language)
        else:
            units = text.split("\n")
        if self.tokenize == "none" and not (self.remove_stopwords or self.remove_punctuation):
            return "\n".join(units)
        out = []
        for unit in units:
            if self.tokenize == "none":
                # removals on whitespace-split words, punctuation stripped at word edges first
                tokens = []
                for word in unit.split():
                    core = word.strip(string.punctuation + "“”‘’«»…") if self.remove_punctuation else word
                    if core and self._keep(
                        core if self.remove_punctuation else word.strip(string.punctuation)
                    ):
                        tokens.append(core)
            else:
                tokens = [t for t in nlp.words(unit, self.language) if self._keep(t)]
            if tokens:
                out.append(" ".join(tokens))
        return "\n".join(out)

    def apply(self, doc: Document) -> bool | str | None:
        if not self.active:
            return None
        map_text(doc, self.process)
        doc.metadata["preprocessed"] = True
        if is_blank(doc):
            return "empty_after_preprocess"
        return None
