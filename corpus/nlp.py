"""nltk where its data is installed, offline fallbacks where it is not.

nltk's tokenizers and stop-word lists need data files (punkt_tab, stopwords) that cannot be downloaded at run
time here. They are looked up on nltk's own search path (NLTK_DATA first, then its default folders); when
one is missing, a regex tokenizer or the built-in English stop-word list takes over, and the log says so
once per process. Install the data with `python -m nltk.downloader stopwords punkt_tab`.
"""

from __future__ import annotations

import logging
import re
from functools import cache

from datatrove.utils.word_tokenizers import WordTokenizer

from corpus import heuristics

log = logging.getLogger(__name__)

# words: letter/digit runs with inner apostrophes or hyphens ("don't", "e-mail"); every other non-space
# character is a token of its own, as nltk's word_tokenize does with punctuation
WORD_RE = re.compile(r"\w+(?:['’\-]\w+)*|[^\w\s]")
# sentences: end punctuation (and closing quotes/brackets) followed by space and an upper-case letter, digit
# or opening quote; a blank line always ends one
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9À-Ý])|\n\s*\n")
_ABBREVIATIONS = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|vs|etc|e\.g|i\.e|No|Fig|Vol|Inc|Ltd)\.$")

_NLTK_LANGUAGES = {"en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian"}


@cache
def nltk_has(resource: str) -> bool:
    """Whether nltk finds a data resource ("tokenizers/punkt_tab/english", "corpora/stopwords")."""
    try:
        import nltk

        nltk.data.find(resource)
        return True
    except LookupError:
        return False


@cache
def warn_once(message: str) -> None:
    log.warning(message)


def nltk_language(language: str) -> str:
    return _NLTK_LANGUAGES.get(language, language)


def _missing(resource: str, fallback: str) -> None:
    import nltk

    warn_once(
        f"nltk data {resource!r} not found (searched {', '.join(map(str, nltk.data.path[:4]))}, ...); "
        f"using {fallback}. Install it with: python -m nltk.downloader {resource.split('/')[1]}"
    )


def regex_sentences(text: str) -> list[str]:
    out: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        candidate = text[start : match.start()].strip()
        if _ABBREVIATIONS.search(candidate) and "\n" not in match.group():
            continue  # "Dr. Smith": not a sentence end
        if candidate:
            out.append(candidate)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def sentences(text: str, language: str = "english") -> list[str]:
    """Sentences with nltk's Punkt model when punkt_tab is installed, else the regex splitter."""
    language = nltk_language(language)
    if nltk_has(f"tokenizers/punkt_tab/{language}"):
        import nltk

        return [s for para in re.split(r"\n\s*\n", text) for s in nltk.sent_tokenize(para, language)]
    _missing("tokenizers/punkt_tab", "the regex sentence splitter")
    return regex_sentences(text)


def words(text: str, language: str = "english") -> list[str]:
    """Word tokens with nltk's word_tokenize when punkt_tab is installed, else the regex tokenizer."""
    language = nltk_language(language)
    if nltk_has(f"tokenizers/punkt_tab/{language}"):
        import nltk

        return nltk.word_tokenize(text, language)
    _missing("tokenizers/punkt_tab", "the regex word tokenizer")
    return WORD_RE.findall(text)


@cache
def stopwords(language: str = "english") -> frozenset[str]:
    """nltk's stop-word list for the language when installed; English falls back to the built-in copy."""
    language = nltk_language(language)
    if nltk_has("corpora/stopwords"):
        from nltk.corpus import stopwords as nltk_stopwords

        if language in nltk_stopwords.fileids():
            return frozenset(nltk_stopwords.words(language))
    if language != "english":
        raise LookupError(
            f"no stop-word list for {language!r}: nltk's stopwords data is not installed "
            "(python -m nltk.downloader stopwords) and only English is built in"
        )
    if not nltk_has("corpora/stopwords"):
        _missing("corpora/stopwords", "the built-in English list")
    from corpus.report.stopwords import ENGLISH

    return ENGLISH


class OfflineWordTokenizer(WordTokenizer):
    """The word tokenizer handed to datatrove's quality filters in place of spaCy. Words are Gopher's
    (whitespace-separated, as in the paper) with punctuation stripped from their edges, so that "the," counts
    as the stop word "the" and a lone dash is no word; fast and the same on every machine. Sentences come
    from nltk's Punkt when installed, else the regex splitter."""

    def __init__(self, language: str = "english") -> None:
        super().__init__(nltk_language(language))

    def word_tokenize(self, text: str) -> list[str]:
        return heuristics.words(text)

    def sent_tokenize(self, text: str) -> list[str]:
        return sentences(text, self.language)

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        spans, start = [], 0
        for sentence in self.sent_tokenize(text):
            begin = text.find(sentence, start)
            if begin < 0:
                continue
            spans.append((begin, begin + len(sentence)))
            start = begin + len(sentence)
        return spans
