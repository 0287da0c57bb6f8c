"""Extraction quality against ground truth, shared by the tests and the web benchmark.

- word recall: the share of the words of a page's reStructuredText source (as a bag of lowercase
  alphanumeric tokens, rst markup such as directive and role names left out) found in the extracted text;
- boilerplate share: the share of extracted lines that are navigation text, i.e. text that appears in the
  page outside its main container and not inside it (plus Sphinx's stock navigation labels).

The reference for boilerplate is built with lxml directly, not with corpus' extractor, so the measure
does not grade the extractor against itself.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import lxml.html

_TOKEN = re.compile(r"[a-z0-9]+")
_NORM = re.compile(r"[^a-z0-9]+")

# directives whose arguments and bodies are not rendered as text (or are rendered as something else)
_HIDDEN_DIRECTIVES = frozenset(
    """index toctree literalinclude include highlight testsetup testcleanup sectionauthor moduleauthor
    module currentmodule only raw image figure tabularcolumns code-block sourcecode productionlist
    """.split()
)
_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+([\w:-]+)::(.*)$")
_COMMENT_OR_TARGET = re.compile(r"^\s*\.\.(\s+[^:]*)?$|^\s*\.\.\s+_[^:]*:.*$|^\s*\.\.\s+\|[^|]+\|.*$")
_OPTION = re.compile(r"^\s+:[\w -]+:(\s.*)?$")
_ROLE = re.compile(r":[\w:+-]+:(?=`)")
_LINK_TARGET = re.compile(r"<[^<>`]*>(?=`)")

SPHINX_NAV_LINES = frozenset(
    _NORM.sub(" ", s.lower()).strip()
    for s in (
        "Navigation",
        "index",
        "modules",
        "next",
        "previous",
        "Table of Contents",
        "This Page",
        "Show Source",
        "Report a Bug",
        "Quick search",
        "Previous topic",
        "Next topic",
        "Python",
        "3.11.2 Documentation",
    )
)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def rst_text(rst: str) -> str:
    """The words of an rst source that a reader of the rendered page would see: directive names, role
    names, option fields, comments, link targets and hidden directives' bodies are removed."""
    out: list[str] = []
    hidden_indent: int | None = None
    for line in rst.splitlines():
        indent = len(line) - len(line.lstrip())
        if hidden_indent is not None:
            if not line.strip() or indent > hidden_indent:
                continue
            hidden_indent = None
        if match := _DIRECTIVE.match(line):
            if match.group(2).lower() in _HIDDEN_DIRECTIVES:
                hidden_indent = len(match.group(1))
                continue
            line = match.group(3)
        elif _COMMENT_OR_TARGET.match(line) or _OPTION.match(line):
            continue
        out.append(_LINK_TARGET.sub("", _ROLE.sub("", line)))
    return "\n".join(out)


def word_recall(reference: str, extracted: str) -> float:
    """Bag-of-words recall of the reference's tokens in the extracted text (1.0 for an empty reference)."""
    ref = Counter(tokens(reference))
    total = sum(ref.values())
    if not total:
        return 1.0
    got = Counter(tokens(extracted))
    return sum(min(n, got[w]) for w, n in ref.items()) / total


def norm_line(line: str) -> str:
    return _NORM.sub(" ", line.lower()).strip()


@dataclass
class BoilerplateReference:
    outside: set[str]  # normalized text fragments and element texts outside the main container
    inside: set[str]
    outside_blob: str
    inside_blob: str

    def is_boilerplate(self, line: str) -> bool:
        n = norm_line(line)
        if not n:
            return False
        if n in self.inside:  # text the article itself has (a table cell "Index") is never boilerplate
            return False
        if n in SPHINX_NAV_LINES or n in self.outside:
            return True
        # a line made of several outside fragments (an extractor may join a footer into one line)
        return len(n.split()) >= 3 and f" {n} " in self.outside_blob and f" {n} " not in self.inside_blob

    def share(self, text: str) -> float:
        lines = [line for line in text.splitlines() if norm_line(line)]
        if not lines:
            return 0.0
        return sum(self.is_boilerplate(line) for line in lines) / len(lines)


def _texts(element) -> tuple[set[str], str]:
    found: set[str] = set()
    fragments: list[str] = []
    for el in element.iter():
        if not isinstance(el.tag, str) or el.tag in ("script", "style"):
            continue
        found.add(norm_line(el.text_content()))
        for piece in (el.text, el.tail if el is not element else None):
            if piece and (n := norm_line(piece)):
                found.add(n)
                fragments.append(n)
    found.discard("")
    return found, " " + " ".join(fragments) + " "


def boilerplate_reference(html: str, main_xpath: str = "//div[@role='main']") -> BoilerplateReference | None:
    """Split a page into its main container and the rest; None when the page has no such container."""
    root = lxml.html.fromstring(html.encode("utf-8"))
    mains = root.xpath(main_xpath)
    if not mains:
        return None
    main = mains[0]
    inside, inside_blob = _texts(main)
    main.getparent().remove(main)
    body = root.find("body") if root.find("body") is not None else root
    outside, outside_blob = _texts(body)
    return BoilerplateReference(
        outside, inside, outside_blob, " " + " ".join(sorted(inside)) + " " + inside_blob
    )


# --- shingle precision / recall / F1 against an expected main content -------------------------------------

SHINGLE_N = 5
# Chinese, Japanese and Korean scripts are written without spaces: each of their characters is a word
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_WORD = re.compile(f"[{_CJK}]|[^\\W{_CJK}]+")
# elements after which a reader sees a break: their text must not glue to the next element's
_BREAK_TAGS = frozenset(
    "address article aside blockquote br caption dd details div dl dt figcaption figure footer h1 h2 h3 h4 h5 "
    "h6 header hr li main nav ol p pre section summary table td th tr ul".split()
)


def shingles(text: str, n: int = SHINGLE_N) -> Counter:
    """The word n-gram shingles of `text` as a multiset: words are runs of Unicode letters and digits
    (\\w+, so punctuation and whitespace differences do not count) and single CJK characters, case-folded. A text of fewer
    than n words gives its one shorter n-gram, so that short texts still compare."""
    words = _WORD.findall(text.casefold())
    if not words:
        return Counter()
    if len(words) < n:
        return Counter([tuple(words)])
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


@dataclass
class ShingleScore:
    precision: float
    recall: float
    f1: float


def shingle_f1(extracted: str, expected: str, n: int = SHINGLE_N) -> ShingleScore:
    """Shingle precision, recall and F1 of an extracted text against the expected main content: with S(t) the
    multiset of word n-gram shingles of t (`shingles`), precision = |S(extracted) & S(expected)| /
    |S(extracted)|, recall = |S(extracted) & S(expected)| / |S(expected)|, F1 their harmonic mean. Two empty
    texts score 1; an empty extraction of a non-empty page scores 0 (and precision 0)."""
    got, want = shingles(extracted, n), shingles(expected, n)
    if not got and not want:
        return ShingleScore(1.0, 1.0, 1.0)
    common = sum((got & want).values())
    precision = common / sum(got.values()) if got else 0.0
    recall = common / sum(want.values()) if want else 0.0
    f1 = 2 * precision * recall / (precision + recall) if common else 0.0
    return ShingleScore(precision, recall, f1)


_UTF8_PARSER = lxml.html.HTMLParser(encoding="utf-8")  # bytes without a charset are not Latin-1


def html_text(html: str) -> str:
    """The visible text of an HTML fragment (an expected-content file), one line per block element, without
    scripts and styles: the reference side of `shingle_f1`."""
    if not html.strip():
        return ""
    root = lxml.html.fromstring(html.encode("utf-8"), parser=_UTF8_PARSER)
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag in ("script", "style"):
            el.text = ""
        elif el.tag in _BREAK_TAGS:
            el.text = "\n" + (el.text or "")
            el.tail = "\n" + (el.tail or "")
    return "\n".join(line for line in (" ".join(s.split()) for s in root.text_content().splitlines()) if line)
