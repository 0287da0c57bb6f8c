"""The boilerplate rules every HTML backend applies, and the backend-independent second half of extraction.

A backend (selectolax or bs4) parses the page, picks the main container, deletes what these rules name,
and then, instead of walking the tree in Python, puts marker characters into the tree: a line break around
every block element, a placeholder for each <pre>, and (when no main container was found) brackets around
each link. One C-speed text() call then gives a string that `finish_lines` cuts into clean lines. The
markers are private-use characters, removed from the input first, so page text can never forge one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

BLOCK = "\ue000"  # line break between block elements
LINK_OPEN = "\ue001"
LINK_CLOSE = "\ue002"
PRE = "\ue003"  # PRE <index> PRE stands for the index-th <pre> text, kept verbatim
MARKERS = BLOCK + LINK_OPEN + LINK_CLOSE + PRE

# never text a reader sees, whatever mode
INVISIBLE_TAGS = tuple(
    "script style noscript template svg iframe object embed canvas video audio map head textarea select "
    "button input".split()
)
# page furniture rather than content
BOILERPLATE_TAGS = ("nav", "header", "footer", "aside", "form", "dialog", "menu")
# ...except these, inside the main container or an <article>/<main>: there a <header> holds the title and an
# <aside> holds footnotes or a side note of the article itself (Sphinx renders footnotes as <aside>)
CONTENT_IN_MAIN = ("header", "aside")
MAIN_TAGS = ("article", "main")

# elements that start a new line; table cells and definition terms included, so each is its own line
BLOCK_TAGS = tuple(
    "address article aside blockquote body caption center dd details dialog dir div dl dt fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr legend li main menu nav ol option p section summary "
    "table tbody td tfoot th thead tr ul".split()
)
BLOCK_SELECTOR = ", ".join(BLOCK_TAGS)
PRE_TAGS = ("pre", "listing", "xmp")  # text kept verbatim, line breaks and indentation included

# Where the article is, most specific first, as (tag, attribute, word): <main>, role=main, <article>, Sphinx's
# div.body, then common ids and classes. A candidate counts only if it holds a fair share of the text.
MAIN_CONTAINERS: tuple[tuple[str | None, str | None, str | None], ...] = (
    ("main", None, None),
    (None, "role", "main"),
    ("article", None, None),
    ("div", "class", "body"),
    (None, "id", "main-content"),
    (None, "class", "main-content"),
    (None, "class", "post-content"),
    (None, "class", "entry-content"),
    (None, "class", "article-body"),
    (None, "id", "content"),
    (None, "id", "main"),
)
MAIN_SELECTORS = tuple(
    (tag or "") + (f'[{attr}{"=" if attr == "id" else "~="}"{word}"]' if attr else "")
    for tag, attr, word in MAIN_CONTAINERS
)


def main_rank(tag: str, attrs: dict) -> int | None:
    """The position in MAIN_CONTAINERS of the first entry this element matches (it, not its descendants)."""
    for rank, (want_tag, attr, word) in enumerate(MAIN_CONTAINERS):
        if want_tag and tag != want_tag:
            continue
        value = attrs.get(attr) if attr else None
        if attr is None or (value is not None and (value == word if attr == "id" else word in value.split())):
            return rank
    return None


MIN_MAIN_SHARE = 0.05  # of the body's text, so an empty or decorative <main> does not hide the page

# Paragraph text: the text of the page's <p> elements of at least MIN_PARAGRAPH_CHARS characters (shorter ones
# are bylines, captions, buttons). It is what an article is made of and what menus, feeds and link lists
# lack, so it decides where the article is when the page has enough of it (MIN_PARAGRAPH_TEXT):
# - a main container must hold the densest block (the element with the most paragraph text in its own <p>
#   children) or MIN_MAIN_PARAGRAPHS of all paragraph text: a role=main story feed, or comments in <article>s
#   while the post is in a <div>, hold neither; its share of all text does not count (a <main> whose
#   teasers and link lists outweigh the article is still the main container), and a container nested in it
#   that holds NESTED_SHARE of its paragraph text is taken instead (an <article> inside a <main> of teasers);
# - the root is then narrowed to its deepest block that still holds NARROW_SHARE of the root's paragraph text
#   (a <main> that wraps the article and its feeds and related links becomes the article's own container)
MIN_PARAGRAPH_CHARS = 25
MIN_PARAGRAPH_TEXT = 500
MIN_MAIN_PARAGRAPHS = 0.6
NESTED_SHARE = 0.6
NARROW_SHARE = 0.85
#   ...as long as the text cut off is mostly not paragraphs (at most this share): a documentation page whose
#   reference section holds most of the paragraphs keeps its introduction
MAX_CUT_PARAGRAPHS = 0.4

# Words that mark a class/id token as boilerplate when they are one of its parts (split on - _ and camelCase).
BOILERPLATE_PARTS = frozenset(
    """
    nav navbar navigation navheader navfooter navlinks menu menubar submenu megamenu breadcrumb breadcrumbs
    crumbs sidebar sidebars sphinxsidebar sphinxsidebarwrapper cookie cookies consent gdpr ccpa related share
    sharing sharethis social socials ad ads advert adverts advertisement advertising adsbygoogle sponsor
    sponsored promo popup modal newsletter subscribe subscription signup pagination pager pagenav skiplink
    skiplinks toolbar footer masthead topbar headerlink comment comments commentlist reply replies respond
    disqus searchbox feedback outbrain taboola relatedposts relatedlinks relatedarticles relatedstories
    """.split()
)
# A comment thread: never the main container, and an <article> named so is deleted like any boilerplate
COMMENT_PARTS = frozenset("comment comments commentlist reply replies respond disqus".split())
# Class tokens a CMS makes from the post's own tags and categories (WordPress: "tag-social-media",
# "category-comments"): they name the post's topics, not a part of the layout
TAXONOMY_PREFIXES = ("tag-", "tags-", "category-", "cat-", "topic-")
# Layout words: a token naming one of these together with a content word ("contentWithSidebar",
# "main-with-nav") is a wrapper of the content, not a sidebar, whatever share of the text it holds.
LAYOUT_PARTS = frozenset(
    "nav navbar navigation menu menubar sidebar sidebars toolbar footer topbar masthead".split()
)
CONTENT_PARTS = frozenset("article body column content".split())  # not "main": "main-nav" is a menu
# Whole tokens only: as parts these would also hit content ("page-header" holds the title).
BOILERPLATE_TOKENS = frozenset(
    """
    header site-header skip skip-link skip-to-content search sr-only visually-hidden screen-reader-text
    hidden
    """.split()
)
BOILERPLATE_ROLES = frozenset(
    "navigation banner contentinfo complementary search menu menubar toolbar dialog alertdialog".split()
)
# Inline elements carry most class attributes on a page (syntax highlighting spans, link styles), so they are
# judged on a few whole class names only; everything else on the words of its class and id.
INLINE_TAGS = frozenset(("span", "a", "code"))
INLINE_TOKENS = frozenset(
    "headerlink sr-only visually-hidden screen-reader-text skip-link skip-to-content hidden share".split()
)
# C-level pre-filter: every element that `is_boilerplate` could judge boilerplate, and not many more. lexbor
# walks the tree once per selector in a group, so the group stays short (about 0.3 ms on a 100 KB page).
CANDIDATE_SELECTOR = ", ".join(
    [
        "[class]:not(span):not(a):not(code)",
        "[id]:not(span):not(a):not(code)",
        "[role]",
        "[hidden]",
        '[style*="none" i]',
        '[style*="hidden" i]',
    ]
    + [f".{token}" for token in sorted(INLINE_TOKENS)]
)
# a class/id/role element holding more than this share of its scope's text is a layout wrapper, not a banner
MAX_BOILERPLATE_SHARE = 0.6
PROTECTED_TAGS = frozenset(("html", "body", "main", "article"))
# ids are judged only on layout containers: elsewhere they are anchors made from the text (a docs heading
# "Cookie Objects" becomes <section id="cookie-objects">, a method `add_related` becomes <dt id=...>)
MAX_ID_PARTS = 3
ID_TAGS = frozenset("div nav aside ul ol menu header footer form ins iframe dialog".split())

_PARTS = re.compile(r"[-_\s:.]+|(?<=[a-z])(?=[A-Z])")
_DISPLAY_NONE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)

# lines that are furniture wherever they appear in a page without a main container
BOILERPLATE_LINES = frozenset(
    "skip to content|skip to main content|skip navigation|back to top|read more|share|tweet|print|menu|"
    "toggle navigation|previous|next|prev|home|up|accept|accept all|accept all cookies|reject all|"
    "manage cookies|cookie settings|subscribe|sign in|log in|sign up|search".split("|")
)


def is_boilerplate(
    tag: str, cls: str | None, ident: str | None, role: str | None, hidden: bool, style: str | None
) -> bool:
    """Decide, on whole words, whether an element the CSS pre-filter picked is boilerplate."""
    if hidden or (style and _DISPLAY_NONE.search(style)):
        return True
    if role and any(r in BOILERPLATE_ROLES for r in role.lower().split()):
        return True
    if tag in INLINE_TAGS:
        return bool(cls) and any(token in INLINE_TOKENS for token in cls.split())
    return _names_boilerplate(cls) or (tag in ID_TAGS and _is_name(ident) and _names_boilerplate(ident))


def _is_name(ident: str | None) -> bool:
    """An id of at most MAX_ID_PARTS words names a part of the layout ("main-nav", "related-posts"); a longer
    one is a slug of a heading ("sharing-with-a-single-developer"), however it is spelled."""
    return bool(ident) and len([part for part in _PARTS.split(ident) if part]) <= MAX_ID_PARTS


@lru_cache(maxsize=8192)  # a site repeats its class names on every element and every page
def _names_boilerplate(value: str | None) -> bool:
    if not value:
        return False
    for token in value.split():
        lower = token.lower()
        if lower in BOILERPLATE_TOKENS:
            return True
        if lower.startswith(TAXONOMY_PREFIXES):
            continue
        parts = [part.lower() for part in _PARTS.split(token) if part]
        hits = [part for part in parts if part in BOILERPLATE_PARTS]
        if hits and not (CONTENT_PARTS.intersection(parts) and LAYOUT_PARTS.issuperset(hits)):
            return True
    return False


def names_comments(cls: str | None, ident: str | None) -> bool:
    """The class or id names a comment thread or one comment ("comment-list", "js_reply reply")."""
    return any(_names_comments(value) for value in (cls, ident) if value)


@lru_cache(maxsize=8192)
def _names_comments(value: str) -> bool:
    return any(
        not token.lower().startswith(TAXONOMY_PREFIXES)
        and any(part.lower() in COMMENT_PARTS for part in _PARTS.split(token) if part)
        for token in value.split()
    )


@dataclass
class Options:
    """Extraction knobs shared by both backends (the step's recipe options map onto these)."""

    main_content: bool = True
    max_link_density: float = 0.5
    min_menu_lines: int = 3
    max_menu_line_words: int = 8


@dataclass
class Extracted:
    text: str
    title: str = ""
    canonical_url: str = ""
    main_found: bool = False
    lines: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # what was done to a pathological page, for the stats


# Block elements that stay open until closed explicitly. HTML parsers check the whole stack of open elements
# at each block start tag, so thousands of unclosed <div>s cost quadratic time (50,000 take lexbor seconds,
# 5,000,000 take hours). Such a page gets its block tags turned into <br>: same lines, no nesting.
_NESTING = "div|section|article|aside|blockquote|center|details|dialog|dir|dl|fieldset|figure|figcaption|footer|header|hgroup|main|menu|nav|ol|ul|address|search|summary|form"
_NESTING_OPEN = re.compile(f"<(?:{_NESTING})\\b", re.I)
_NESTING_CLOSE = re.compile(f"</(?:{_NESTING})\\b", re.I)
_NESTING_TAG = re.compile(f"</?(?:{_NESTING})\\b[^>]{{0,4096}}>?", re.I)
MAX_UNCLOSED_BLOCKS = 4000


def guard(html: str, max_chars: int, max_tags: int) -> tuple[str, list[str]]:
    """Make a pathological page safe to parse: cut it to `max_chars` characters and about `max_tags` tags
    (a parser's memory grows with both: lexbor takes ~300 bytes a node) and flatten runaway nesting.
    Returns the page and what was done to it."""
    flags = []
    cut = min(len(html), max_chars)
    tags = html.count("<", 0, cut) if cut > max_tags else cut  # fewer characters than max_tags: no count
    if tags > max_tags:  # tags are spread evenly enough for a proportional cut to land near the limit
        cut = int(cut * max_tags / tags)
    if cut < len(html):
        html, flags = html[:cut], ["html_truncated"]
    if not _may_nest_deeply(html):
        return html, flags
    opens = len(_NESTING_OPEN.findall(html))
    if opens > MAX_UNCLOSED_BLOCKS and opens - len(_NESTING_CLOSE.findall(html)) > MAX_UNCLOSED_BLOCKS:
        html = _NESTING_TAG.sub("<br>", html)
        flags.append("html_flattened")
    return html, flags


def _may_nest_deeply(html: str | bytes) -> bool:
    """Two counts clear almost every page: with at most MAX_UNCLOSED_BLOCKS more start tags than end tags
    overall, no tag can be that far out of balance (unless stray end tags make up for it)."""
    if isinstance(html, str):
        return html.count("<") - 2 * html.count("</") > MAX_UNCLOSED_BLOCKS
    # numpy compares bytes 4x faster than bytes.count counts them
    data = np.frombuffer(html, np.uint8)
    lt = data == ord("<")
    closes = np.count_nonzero(lt[:-1] & (data[1:] == ord("/")))
    return int(np.count_nonzero(lt)) - 2 * int(closes) > MAX_UNCLOSED_BLOCKS


def guard_utf8(
    html: str, max_chars: int, max_tags: int, utf8: bytes | None = None
) -> tuple[bytes, list[str]]:
    """`guard` for a parser that takes UTF-8: the page is encoded once (lexbor would encode a str itself), or
    not at all when the caller has its `utf8` already, and the common case (no cut, no runaway nesting) is
    decided by two counts of its bytes ("<" is one byte in UTF-8 and never part of a longer character).
    Lone surrogates become "?"."""
    data = utf8
    if data is None:
        try:
            data = html.encode("utf-8")
        except UnicodeEncodeError:
            data = html.encode("utf-8", "replace")
    # a page of at most max_chars bytes has at most that many characters
    fits = len(data) <= max_chars and (len(data) <= max_tags or data.count(b"<") <= max_tags)
    if fits and not _may_nest_deeply(data):
        return data, []
    html, flags = guard(data.decode("utf-8"), max_chars, max_tags)
    return html.encode("utf-8"), flags


_MARKERS_UTF8 = tuple(m.encode() for m in MARKERS)


def clean_input(html: str | bytes) -> str | bytes:
    """Remove marker characters the page itself may contain (private-use code points: icon fonts use them).
    One replace() per marker: str.translate looks every character of the page up in a dict (90 ms on a
    400 KB page), and in UTF-8 a marker's three bytes can only ever be that character."""
    if isinstance(html, bytes):
        # b"\xee" leads every marker's UTF-8, and a one-byte search (a memchr) is ~10x a multi-byte one
        if b"\xee" in html:
            for marker in _MARKERS_UTF8:
                if marker in html:
                    html = html.replace(marker, b"")
        return html
    for marker in MARKERS:
        if marker in html:
            html = html.replace(marker, "")
    return html


def pre_placeholder(index: int) -> str:
    return f"{BLOCK}{PRE}{index}{PRE}{BLOCK}"


def collapse(text: str) -> str:
    return " ".join(text.split())


def pre_lines(text: str) -> list[str]:
    """A <pre> block keeps its own line breaks and indentation; only trailing spaces and blank edges go."""
    lines = [line.rstrip() for line in text.expandtabs(8).splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


@dataclass
class _Line:
    text: str
    link_chars: int = 0
    links: int = 0
    pre: bool = False


_LINK_SPLIT = re.compile(f"([{LINK_OPEN}{LINK_CLOSE}])")


def _split_lines(raw: str, pres: list[str], track_links: bool) -> list[_Line]:
    out: list[_Line] = []
    in_link = False
    for piece in raw.split(BLOCK):
        if not piece or piece.isspace():
            continue
        if piece[0] == PRE and piece[-1] == PRE and len(piece) > 2:
            out.extend(_Line(line, pre=True) for line in pre_lines(pres[int(piece[1:-1])]))
            continue
        if not track_links:
            text = collapse(piece)
            if text:
                out.append(_Line(text))
            continue
        text_parts, link_chars, links = [], 0, 0
        for part in _LINK_SPLIT.split(piece):
            if part == LINK_OPEN:
                in_link, links = True, links + 1
            elif part == LINK_CLOSE:
                in_link = False
            elif part:
                text_parts.append(part)
                if in_link:
                    link_chars += len(collapse(part))
        text = collapse("".join(text_parts))
        if text:
            out.append(_Line(text, link_chars, links))
    return out


def _menu_like(line: _Line, opts: Options) -> bool:
    dense = line.link_chars >= opts.max_link_density * len(line.text.replace(" ", ""))
    return line.link_chars > 0 and dense and len(line.text.split()) <= opts.max_menu_line_words


def _drop_menus(lines: list[_Line], opts: Options) -> list[_Line]:
    """Without a main container: drop runs of short link-dominated lines (menus, link lists, breadcrumbs as
    list items), single lines made of several links (`Home | About | Contact`), and stock furniture lines."""
    keep = [True] * len(lines)
    i = 0
    while i < len(lines):
        if lines[i].pre or not _menu_like(lines[i], opts):
            i += 1
            continue
        j = i
        while j < len(lines) and not lines[j].pre and _menu_like(lines[j], opts):
            j += 1
        if j - i >= opts.min_menu_lines:
            keep[i:j] = [False] * (j - i)
        i = j
    for k, line in enumerate(lines):
        if line.pre or not keep[k]:
            continue
        letters = len(line.text.replace(" ", ""))
        if line.links >= 2 and line.link_chars >= 0.8 * letters:
            keep[k] = False
        elif line.text.lower().strip(" .:|»«›‹>") in BOILERPLATE_LINES:
            keep[k] = False
    return [line for line, k in zip(lines, keep) if k]


def _plain_lines(raw: str, pres: list[str]) -> list[str]:
    """The common case (a main container was found), kept lean: about a third of the time per page."""
    out: list[str] = []
    for piece in raw.split(BLOCK):
        text = " ".join(piece.split())
        if not text:
            continue
        if text[0] == PRE and text[-1] == PRE and len(text) > 2:
            out.extend(pre_lines(pres[int(text[1:-1])]))
        else:
            out.append(text)
    return out


def finish_lines(raw: str, pres: list[str], heuristics: bool, opts: Options) -> list[str]:
    """Turn the marked-up text of the kept part of the page into its final lines."""
    if not heuristics:
        return _plain_lines(raw, pres)
    return [line.text for line in _drop_menus(_split_lines(raw, pres, track_links=True), opts)]
