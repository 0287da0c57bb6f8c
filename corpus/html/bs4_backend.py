"""Main-content extraction on beautifulsoup4 + lxml: the same rules, selectors and markers as the selectolax
backend (CSS through soupsieve), for users who want bs4's tree. Much slower; output matches closely (the
parsers repair broken markup differently, so badly malformed pages can differ)."""

from __future__ import annotations

import warnings

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, NavigableString, Tag, XMLParsedAsHTMLWarning

from corpus.html.rules import (
    BLOCK,
    BLOCK_TAGS,
    BOILERPLATE_TAGS,
    CONTENT_IN_MAIN,
    INLINE_TAGS,
    INVISIBLE_TAGS,
    LINK_CLOSE,
    LINK_OPEN,
    MAIN_SELECTORS,
    MAIN_TAGS,
    MAX_BOILERPLATE_SHARE,
    MIN_MAIN_SHARE,
    PRE_TAGS,
    PROTECTED_TAGS,
    Extracted,
    Options,
    clean_input,
    collapse,
    finish_lines,
    is_boilerplate,
    pre_placeholder,
)


def _parse(html: str) -> BeautifulSoup:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        try:
            return BeautifulSoup(html, "lxml")
        except (UnicodeEncodeError, ValueError):  # lone surrogates or NULs that libxml2 refuses
            return BeautifulSoup(html.encode("utf-8", "replace").decode("utf-8").replace("\x00", ""), "lxml")


_BLOCKS = frozenset(BLOCK_TAGS)
_JUDGED = frozenset(("class", "id", "role", "hidden", "style"))


def _has_judged_attrs(tag: Tag) -> bool:
    return bool(tag.attrs) and not _JUDGED.isdisjoint(tag.attrs)


_PRE_TAGS = frozenset(PRE_TAGS)


def _render(root: Tag, skip: set[int], pres: list[str] | None = None, links: bool = False) -> str:
    """The text under `root`, leaving out skipped subtrees; with `pres`, marked up like the selectolax
    backend's tree. A walk instead of tree edits: bs4 inserts and removes in time linear in the number of
    siblings, so editing a page with 100,000 sibling elements would take hours."""
    out: list[str] = []
    stack, closers = [iter(root.contents)], [""]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            out.append(closers.pop())
            continue
        if type(node) is NavigableString:  # subclasses are comments, doctypes, CDATA, script text
            out.append(node)
            continue
        if not isinstance(node, Tag) or id(node) in skip:
            continue
        if pres is None:
            opener = closer = ""
        elif node.name in _PRE_TAGS:
            pres.append(node.get_text())
            out.append(pre_placeholder(len(pres) - 1))
            continue
        elif node.name == "br":
            out.append(BLOCK)
            continue
        elif node.name in _BLOCKS:
            opener = closer = BLOCK
        elif links and node.name == "a" and node.has_attr("href"):
            opener, closer = LINK_OPEN, LINK_CLOSE
        else:
            opener = closer = ""
        out.append(opener)
        stack.append(iter(node.contents))
        closers.append(closer)
    return "".join(out)


def _text_len(node: Tag, skip: set[int]) -> int:
    return len(_render(node, skip))


def _outermost(nodes: list[Tag]) -> list[Tag]:
    if len(nodes) < 2:
        return nodes
    ids = {id(n) for n in nodes}
    return [n for n in nodes if not any(id(p) in ids for p in n.parents)]


def _find_main(body: Tag, skip: set[int]) -> list[Tag] | None:
    body_len = _text_len(body, skip)
    if not body_len:
        return None
    for selector in MAIN_SELECTORS:
        nodes = [n for n in body.select(selector) if not any(id(p) in skip for p in (n, *n.parents))]
        if not nodes:
            continue
        if selector == "article":
            nodes = _outermost(nodes)
        else:
            nodes = [max(nodes, key=lambda n: _text_len(n, skip))]
        if sum(_text_len(n, skip) for n in nodes) >= MIN_MAIN_SHARE * body_len:
            return nodes
    return None


def _attr(node: Tag, name: str) -> str | None:
    value = node.get(name)
    return " ".join(value) if isinstance(value, list) else value


def _drop_boilerplate(root: Tag, in_main: bool, skip: set[int]) -> None:
    for tag in BOILERPLATE_TAGS:
        nodes = root.find_all(tag)
        if tag in CONTENT_IN_MAIN:
            nodes = [] if in_main else [n for n in nodes if n.find_parent(MAIN_TAGS) is None]
        skip.update(id(n) for n in nodes)
    scope_len = None
    victims = []
    # every element with one of the attributes the rules read; soupsieve would take 80% of the run time
    # on rules.CANDIDATE_SELECTOR, and is_boilerplate decides alone anyway (the selector only narrows)
    for node in root.find_all(_has_judged_attrs):
        if node.name in PROTECTED_TAGS:
            continue
        attrs = (_attr(node, "class"), _attr(node, "id"), _attr(node, "role"))
        if not is_boilerplate(node.name, *attrs, node.has_attr("hidden"), _attr(node, "style")):
            continue
        if node.name not in INLINE_TAGS:
            scope_len = _text_len(root, skip) if scope_len is None else scope_len
            if _text_len(node, skip) > MAX_BOILERPLATE_SHARE * scope_len:
                continue
        victims.append(node)
    skip.update(id(n) for n in victims)


def _title(soup: BeautifulSoup) -> str:
    node = soup.head.find("title") if soup.head is not None else None
    title = collapse(node.get_text()) if node is not None else ""
    if not title and soup.body is not None and (h1 := soup.body.find("h1")) is not None:
        title = collapse(h1.get_text())
    return title


def _canonical(soup: BeautifulSoup) -> str:
    node = soup.select_one('link[rel~="canonical" i][href]')
    return (node.get("href") or "").strip() if node is not None else ""


def extract(html: str, opts: Options) -> Extracted:
    soup = _parse(clean_input(html))
    body = soup.body
    if body is None:
        return Extracted("")
    title, canonical = _title(soup), _canonical(soup)
    skip = {id(n) for n in body.find_all(INVISIBLE_TAGS)}
    main = _find_main(body, skip) if opts.main_content else None
    roots = main or [body]
    if opts.main_content:
        for root in roots:
            _drop_boilerplate(root, main is not None, skip)
    heuristics = opts.main_content and main is None
    pres: list[str] = []
    raw = BLOCK.join(_render(root, skip, pres, heuristics) for root in roots)
    lines = finish_lines(raw, pres, heuristics, opts)
    return Extracted("\n".join(lines), title, canonical, main is not None, lines)
