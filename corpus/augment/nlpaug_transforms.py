"""nlpaug augmenters as transforms: random word swap/delete/crop, keyboard typos, OCR errors, random
character insert/substitute, spelling errors, WordNet synonyms.

What the wrappers add to calling nlpaug yourself:
- determinism: nlpaug draws from Python's global `random` (and numpy's for a few helpers); both are seeded
  from the derived seed right before each call, so the output depends on (seed, text) only;
- faithful text: nlpaug's tokenizer rewrites untouched text ("can't" -> "can ' t", newlines dropped), so a
  tokenizer that gives back the original spacing is passed in (tokens.py);
- protected placeholders are skipped through nlpaug's `stopwords`;
- the spelling model's candidate lists are sorted: nlpaug builds them from a set, whose order changes with
  Python's hash seed, which made its output differ from one process to the next;
- WordNet synonyms never reach `nltk.download` (no network): the data is checked first, and nltk's POS
  tagger (its data is not shipped with corpus) is not used, so synonyms come from every part of speech.
Building an augmenter imports nlpaug, which imports torch (about a second): done once per process, lazily.
"""

from __future__ import annotations

import os
import random
import re
from typing import Any, ClassVar

import numpy as np

from corpus.augment.base import PLACEHOLDER_MARK, Transform
from corpus.augment.tokens import FaithfulTokenizer
from corpus.errors import RecipeError


class _Skip:
    """nlpaug's `stopwords` for texts holding placeholders: tokens containing one are never picked. A
    substring test instead of nlpaug's `stopwords_regex`, which runs four regex matches per token and cost a
    quarter of nlpaug's own time."""

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and PLACEHOLDER_MARK in token


_SKIP_PLACEHOLDERS = _Skip()

# function words never replaced by synonyms (WordNet knows "a" as "angstrom" and "in" as "indium"); in
# every casing nlpaug may meet, since its stopwords test is a plain `in`
_FUNCTION_WORDS = frozenset(
    v
    for w in """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just let me more most my myself
    no nor not now of off on once only or other our ours ourselves out over own same she should so some such
    than that the their theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours yourself
    yourselves thee thou thy thine ye hath doth shall unto upon""".split()
    for v in (w, w.capitalize(), w.upper())
)
# numbers are facts, not style: "third" -> "3rd" or "fifth" -> "twenty percent" changes what a text says
_NUMBER_WORDS = frozenset(
    """one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty sixty seventy
    eighty ninety hundred thousand million first second third fourth fifth sixth seventh eighth ninth tenth
    eleventh twelfth""".split()
)
_SYNONYM_SKIP = _FUNCTION_WORDS | frozenset(v for w in _NUMBER_WORDS for v in (w, w.capitalize(), w.upper()))
_LEMMA_SEPARATORS = re.compile(r"[_-]")  # WordNet joins the words of a lemma with "_" ("60_minutes")


def synonym_candidates(
    word: str, synsets: list[Any], multiword: bool = False, min_char: int = 3, min_count: int = 1
) -> list[str]:
    """The WordNet lemma names that may replace `word`, in WordNet's order, without repeats. Refused:
    - source words shorter than min_char, not alphabetic, function words or number words;
    - synsets reached only through an inflected form ("created" -> create.v.01): the lemma would come back
      uninflected ("God create the heaven"), so only synsets naming the word itself count;
    - rare senses: with min_count > 0, the word must occur at least min_count times in that sense in
      WordNet's sense-tagged corpus (Lemma.count(), SemCor), and so must the candidate: without a POS
      tagger this is what keeps "saw" -> "proverb" and "appreciate" -> "revalue" out;
    - candidates with digits or other non-letters ("atomic_number_75", "60_minutes", "var."), capitals
      (proper nouns and abbreviations: "Re", "Godhead", "US"), shorter than min_char ("hr"), number and
      function words, the word itself, and of several words ("promised_land", "one-fourth") unless
      `multiword`."""
    lower = word.lower()
    if len(lower) < min_char or not lower.isalpha() or lower in _SYNONYM_SKIP:
        return []
    out: dict[str, None] = {}
    for synset in synsets:
        lemmas = synset.lemmas()
        own = [lem for lem in lemmas if lem.name().lower() == lower]
        if not own or (min_count and own[0].count() < min_count):
            continue
        for lem in lemmas:
            name = lem.name()
            if _usable_lemma(name, lower, multiword, min_char) and (
                not min_count or lem.count() >= min_count
            ):
                out[name] = None
    return list(out)


def _usable_lemma(name: str, source: str, multiword: bool, min_char: int) -> bool:
    if name.lower() == source or len(name) < min_char or name != name.lower() or name in _SYNONYM_SKIP:
        return False
    parts = _LEMMA_SEPARATORS.split(name)
    if len(parts) > 1 and not multiword:
        return False
    return all(part.isalpha() for part in parts)


class NlpaugTransform(Transform):
    """Base for nlpaug-backed transforms: subclasses implement `build(tokenizer)`."""

    def build(self, tok: FaithfulTokenizer, skip: _Skip | None) -> Any:
        raise NotImplementedError

    def augmenter(self, protected: bool) -> Any:
        """Two augmenters: texts holding placeholders need nlpaug's stopwords test, a Python call per
        token that would cost the others about 10% of their time."""
        key = "_aug_protected" if protected else "_aug_plain"
        aug = self.__dict__.get(key)
        if aug is None:
            aug = self.build(FaithfulTokenizer(), _SKIP_PLACEHOLDERS if protected else None)
            setattr(self, key, aug)
        return aug

    def word_kwargs(self, tok: FaithfulTokenizer, skip: _Skip | None) -> dict[str, Any]:
        return {
            "aug_p": self.p,
            "aug_min": self.min,
            "aug_max": self.max,
            "tokenizer": tok.tokenize,
            "reverse_tokenizer": tok.detokenize,
            "stopwords": skip,
        }

    def char_kwargs(self, tok: FaithfulTokenizer, skip: _Skip | None) -> dict[str, Any]:
        return {
            "aug_word_p": self.p,
            "aug_word_min": self.min,
            "aug_word_max": self.max,
            "aug_char_p": self.params["char_p"],
            "aug_char_min": self.params["char_min"],
            "aug_char_max": self.params["char_max"],
            "min_char": self.params["min_char"],
            "tokenizer": tok.tokenize,
            "reverse_tokenizer": tok.detokenize,
            "stopwords": skip,
        }

    def transform(self, text: str, seed: int) -> str:
        core = text.strip()
        if not core:
            return text
        aug = self.augmenter(PLACEHOLDER_MARK in core)
        seed_globals(seed)
        out = aug.augment(core)
        out = out[0] if isinstance(out, list) and out else (core if isinstance(out, list) else out)
        lead = text[: len(text) - len(text.lstrip())]
        return lead + out + text[len(text.rstrip()) :]


def seed_globals(seed: int) -> None:
    """nlpaug samples from the global generators; seeding both costs about 5 us per call."""
    random.seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)


_CHAR_EXTRA = {"char_p": 0.3, "char_min": 1, "char_max": 10, "min_char": 4}


class WordSwap(NlpaugTransform):
    """nlpaug RandomWordAug(action="swap"): ceil(p * words) words, within [min, max], trade places with a
    neighbouring word; the word multiset is unchanged."""

    name = "word_swap"

    def build(self, tok: FaithfulTokenizer, skip: _Skip | None) -> Any:
        return _swap_class()(action="swap", **self.word_kwargs(tok, skip))


def _swap_class() -> type:
    import nlpaug.augmenter.word as naw

    class SwapAug(naw.RandomWordAug):
        # nlpaug swaps with the adjacent token even when it is punctuation ("please." -> ".please"); swap
        # only with an adjacent word (the other side when this one is punctuation or the edge), so a swap
        # never crosses punctuation ("Hello! Can I" stays "Hello! Can I", not "Can! hello I")
        def change_case(self, doc: Any, i: int, j: int, change_seq: int) -> Any:
            for k in (j, 2 * i - j):
                if 0 <= k < doc.size() and _is_word(doc.get_token(k).get_latest_token().token):
                    return super().change_case(doc, i, k, change_seq)
            return doc

    return SwapAug


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


class WordDelete(NlpaugTransform):
    """nlpaug RandomWordAug(action="delete"): ceil(p * words) words, within [min, max], are removed."""

    name = "word_delete"

    def build(self, tok: FaithfulTokenizer, skip: _Skip | None) -> Any:
        import nlpaug.augmenter.word as naw

        return naw.RandomWordAug(action="delete", **self.word_kwargs(tok, skip))


class WordCrop(NlpaugTransform):
    """nlpaug RandomWordAug(action="crop"): one contiguous run of ceil(p * tokens) tokens, within [min, max],
    is removed (never the whole text)."""

    name = "word_crop"

    def build(self, tok: FaithfulTokenizer, skip: _Skip | None) -> Any:
        return _crop_class()(action="crop", **self.word_kwargs(tok, skip))


def _crop_class() -> type:
    import nlpaug.augmenter.word as naw

    class CropAug(naw.RandomWordAug):
        # nlpaug 1.1.11 samples from an empty list when one token is to be cropped rightwards
        # (tokens[:-1+1] is empty) and may crop every token; pick the start among valid positions instead
        def _get_aug_range_idxes(self, tokens: list[str]) -> list[int]:
            count = min(self.generate_aug_cnt(len(tokens)), len(tokens) - 1)
            if count <= 0:
                return []
            start = self.sample(list(range(len(tokens) - count + 1)), 1)[0]
            return list(range(start, start + count))

    return CropAug


class Keyboard(NlpaugTransform):
    """nlpaug KeyboardAug: characters replaced by a neighbouring key (QWERTY layouts shipped with nlpaug)."""

    name = "keyboard"
    extra = {
        **_CHAR_EXTRA,
        "char_p": 0.1,
        "char_max": 2,
        "lang": "en",
        "numeric": False,
        "special_char": False,
    }

    def build(self, tok: FaithfulTokenizer, skip: _Skip | None) -> Any:
        import nlpaug.augmenter.char as nac

        return nac.KeyboardAug(
            lang=self.params["lang"],
            include_numeric=self.params["numeric"],
            include_special_char=self.params["special_char"],
            **self.char_kwargs(tok, skip),
        )

    @classmethod
    def check_extra(cls, params: dict[str, Any]) -> None:
        _check_char(cls.name, params)
        import importlib.util

        spec = importlib.util.find_spec("nlpaug")
        folder = os.path.join(os.path.dirname(spec.origin), "res", "char", "keyboard") if spec else ""
        if folder and not os.path.isfile(os.path.join(folder, f"{params['lang']}.json")):
            layouts = sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".json"))
            raise RecipeError(
                f"augment: transform 'keyboard': no keyboard layout {params['lang']!r}; "
                f"nlpaug ships: {', '.join(layouts)}"
            )


class Ocr(NlpaugTransform):
    """nlpaug OcrAug: characters replaced by look-alikes an OCR engine confuses (0/O, 1/l, 5/S, ...)."""

    name = "ocr"
    extra = {**_CHAR_EXTRA, "char_p": 0.3, "char_max": 2, "min_char": 1}

    def build(self, tok: FaithfulTokenizer, skip: _Skip | None) -> Any:
        import nlpaug.augmenter.char as nac

        return nac.OcrAug(**self.char_kwargs(tok, skip))

    @classmethod
    def check_extra(cls, params: dict[str, Any]) -> None:
        _check_char(cls.name, params)


class CharInsert(NlpaugTransform):
    """nlpaug RandomCharAug(action="insert"): random letters/digits inserted inside chosen words."""

    name = "char_insert"
    extra = {**_CHAR_EXTRA, "char_p": 0.1, "char_max": 2}
    action = "insert"

    def build(self, tok: FaithfulTokenizer, skip: _Skip | None) -> Any:
        import nlpaug.augmenter.char as nac

        return nac.RandomCharAug(action=self.action, **self.char_kwargs(tok, skip))

    @classmethod
    def check_extra(cls, params: dict[str, Any]) -> None:
        _check_char(cls.name, params)


class CharSubstitute(CharInsert):
    """nlpaug RandomCharAug(action="substitute"): characters of chosen words replaced by random ones."""

    name = "char_substitute"
    action = "substitute"


def _check_char(name: str, params: dict[str, Any]) -> None:
    if not 0.0 <= params["char_p"] <= 1.0:
        raise RecipeError(f"augment: transform {name!r}: char_p must be in [0, 1], got {params['char_p']}")
    if params["char_min"] < 0 or params["char_max"] < params["char_min"]:
        raise RecipeError(f"augment: transform {name!r}: need 0 <= char_min <= char_max")


# --- spelling ----------------------------------------------------------------------------------------------

_SPELLING_MODELS: dict[tuple[str, bool], Any] = {}


def spelling_dictionary(path: str) -> str:
    """The dictionary file: the one given, else the English one that ships inside nlpaug (13,550 lines from
    the charNMT-noise "natural" spelling errors)."""
    if path:
        return path
    import importlib.util

    spec = importlib.util.find_spec("nlpaug")
    root = os.path.dirname(spec.origin) if spec and spec.origin else ""
    return os.path.join(root, "res", "word", "spelling", "spelling_en.txt")


def _spelling_model(path: str, include_reverse: bool) -> Any:
    key = (path, include_reverse)
    if key not in _SPELLING_MODELS:
        import nlpaug.model.word_dict as nmwd

        model = nmwd.Spelling(path, include_reverse)
        for candidates in model.dict.values():
            candidates.sort()  # built from a set: its order depends on the process's hash seed
        _SPELLING_MODELS[key] = model
    return _SPELLING_MODELS[key]


class Spelling(NlpaugTransform):
    """nlpaug SpellingAug: words replaced by common misspellings of them, from a dictionary file
    (`dictionary`; empty = spelling_en.txt, which ships inside nlpaug)."""

    name = "spelling"
    extra = {"dictionary": "", "include_reverse": True}

    @classmethod
    def missing_data(cls, params: dict[str, Any] | None = None) -> str | None:
        path = spelling_dictionary((params or {}).get("dictionary", ""))
        if not os.path.isfile(path):
            return f"spelling dictionary not found: {path}"
        return None

    def build(self, tok: FaithfulTokenizer, skip: _Skip | None) -> Any:
        import nlpaug.augmenter.word as naw

        path, reverse = spelling_dictionary(self.params["dictionary"]), self.params["include_reverse"]

        class SpellingAug(naw.SpellingAug):
            # nlpaug caches one model per process whatever dict_path says; keep one per file instead
            def get_model(self, force_reload: bool) -> Any:
                return _spelling_model(path, reverse)

        return SpellingAug(dict_path=path, include_reverse=reverse, **self.word_kwargs(tok, skip))


# --- WordNet synonyms --------------------------------------------------------------------------------------


def wordnet_missing() -> str | None:
    """Why WordNet cannot be used here, or None. Never downloads: corpus runs offline."""
    import nltk

    try:
        nltk.data.find("corpora/wordnet")
    except LookupError:
        return (
            "NLTK WordNet data not found (searched: "
            + ", ".join(map(str, nltk.data.path))
            + "); point NLTK_DATA at a folder holding corpora/wordnet"
        )
    return None


class Synonym(NlpaugTransform):
    """nlpaug SynonymAug(aug_src="wordnet"): content words replaced by a WordNet synonym, from NLTK's
    WordNet data under NLTK_DATA (without it the recipe is refused, or the transform skipped if optional).
    Candidates are filtered (see synonym_candidates): one lower-case alphabetic word of at least min_char
    letters, no digits, no proper nouns, no base forms for inflected words, only senses seen at least
    min_count times in WordNet's sense-tagged corpus (0 = all senses); several words only when multiword.
    Synonyms come from every part of speech: nltk's POS tagger data is not used."""

    name = "synonym"
    extra = {"multiword": False, "min_char": 3, "min_count": 1}
    requires = "NLTK WordNet data (corpora/wordnet under NLTK_DATA)"

    @classmethod
    def check_extra(cls, params: dict[str, Any]) -> None:
        for key, low in (("min_char", 1), ("min_count", 0)):
            if params[key] < low:
                raise RecipeError(f"augment: transform 'synonym': {key} must be >= {low}, got {params[key]}")

    @classmethod
    def missing_data(cls, params: dict[str, Any] | None = None) -> str | None:
        return wordnet_missing()

    def build(self, tok: FaithfulTokenizer, skip: _Skip | None) -> Any:
        if reason := wordnet_missing():  # nlpaug would call nltk.download() here
            raise RecipeError(f"augment: transform 'synonym': {reason}")
        # placeholders are never picked: skip_aug only keeps alphabetic words with a synonym
        kwargs = {**self.word_kwargs(tok, skip), "stopwords": _SYNONYM_SKIP}
        aug = _synonym_class()(aug_src="wordnet", **kwargs)
        aug.model.rules = {k: self.params[k] for k in ("multiword", "min_char", "min_count")}
        return aug


def _synonym_class() -> type:
    import nlpaug.augmenter.word as naw
    import nlpaug.model.word_dict as nmw

    class NoPosWordNet(nmw.WordNet):
        rules: ClassVar[dict[str, Any]] = {}  # set per augmenter: the transform's filter parameters

        # nltk.pos_tag needs the averaged_perceptron_tagger data, which nlpaug would try to download
        @classmethod
        def pos_tag(cls, tokens: list[str]) -> list[tuple[str, str]]:
            return [(t, "") for t in tokens]

        # WordNet lookups (morphy, synsets, lemmas) were most of the time; words repeat, so remember them
        def predict(self, word: str, pos: str | None = None) -> list[str]:
            cache = self.__dict__.setdefault("_cache", {})
            key = (word.lower(), pos)
            if key not in cache:
                if len(cache) > 200_000:  # bounded memory on long runs with open vocabularies
                    cache.clear()
                synsets = self.model.synsets(key[0], pos=pos, lang=self.lang)
                cache[key] = synonym_candidates(key[0], synsets, **self.rules)
            return list(cache[key])

    class SynonymAug(naw.SynonymAug):
        @classmethod
        def get_model(cls, aug_src: str, lang: str, dict_path: str | None, force_reload: bool) -> Any:
            return NoPosWordNet(lang=lang, is_synonym=True)

        def skip_aug(self, token_idxes: list[int], tokens: list[tuple[str, str]]) -> list[int]:
            # only words with a usable synonym, so p counts real replacements
            return [i for i in token_idxes if self.model.predict(tokens[i][0])]

    return SynonymAug
