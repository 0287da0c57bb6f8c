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
    MAX_CUT_PARAGRAPHS,
    MIN_MAIN_PARAGRAPHS,
    MIN_MAIN_SHARE,
    MIN_PARAGRAPH_CHARS,
    MIN_PARAGRAPH_TEXT,
    NARROW_SHARE,
    NESTED_SHARE,
    PRE_TAGS,
    PROTECTED_TAGS,
    Extracted,
    Options,
    clean_input,
    collapse,
    finish_lines,
    is_boilerplate,
    names_comments,
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


def _solid_len(root: Tag, skip: set[int]) -> int:
    """The selectolax backend's _solid_len: text length without the whitespace around each text node."""
    total = 0
    stack = [iter(root.contents)]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
        elif type(node) is NavigableString:
            total += len(node.strip())
        elif isinstance(node, Tag) and id(node) not in skip:
            stack.append(iter(node.contents))
    return total


def _outermost(nodes: list[Tag]) -> list[Tag]:
    if len(nodes) < 2:
        return nodes
    ids = {id(n) for n in nodes}
    return [n for n in nodes if not any(id(p) in ids for p in n.parents)]


class _Paragraphs:
    """Paragraph text held by each element of the body (the selectolax backend's _Paragraphs, on bs4)."""

    def __init__(self, body: Tag, skip: set[int]) -> None:
        self.held: dict[int, int] = {}
        self.depth: dict[int, int] = {}
        self.nodes: dict[int, Tag] = {}
        self.skip = skip
        direct: dict[int, int] = {}
        for p in body.find_all("p"):
            chain = [p]
            for parent in p.parents:
                chain.append(parent)
                if parent is body:
                    break
            if any(id(node) in skip for node in chain):
                continue
            size = _solid_len(p, skip)
            if size < MIN_PARAGRAPH_CHARS:
                continue
            for level, node in enumerate(reversed(chain)):
                key = id(node)
                if key in self.held:
                    self.held[key] += size
                else:
                    self.held[key], self.depth[key], self.nodes[key] = size, level, node
            if len(chain) > 1:
                direct[id(chain[1])] = direct.get(id(chain[1]), 0) + size
        self.total = self.held.get(id(body), 0)
        self.densest = max(direct, key=direct.__getitem__) if direct else None

    def of(self, node: Tag) -> int:
        return self.held.get(id(node), 0)

    def holds_densest(self, nodes: list[Tag]) -> bool:
        if self.densest is None:
            return False
        ids = {id(n) for n in nodes}
        return self.densest in ids or any(id(p) in ids for p in self.nodes[self.densest].parents)

    def narrow(self, root: Tag) -> Tag:
        total = self.of(root)
        if total < MIN_PARAGRAPH_TEXT or id(root) not in self.depth:
            return root
        floor, root_depth = NARROW_SHARE * total, self.depth[id(root)]
        chain = [
            key
            for key, held in self.held.items()
            if held >= floor and self.depth[key] > root_depth and self.nodes[key].name != "p"
        ]
        root_len = None
        for key in sorted(chain, key=self.depth.__getitem__, reverse=True):
            node = self.nodes[key]
            if not any(parent is root for parent in node.parents):
                return root
            if self.held[key] == total:  # no paragraph is cut: no need to measure the rest
                return node
            root_len = _solid_len(root, self.skip) if root_len is None else root_len
            cut = root_len - _solid_len(node, self.skip)
            if total - self.held[key] <= MAX_CUT_PARAGRAPHS * cut:
                return node
        return root


def _names_comments(node: Tag) -> bool:
    return names_comments(_attr(node, "class"), _attr(node, "id"))


def _nested(nodes: list[Tag], found: list[Tag], paragraphs: _Paragraphs) -> list[Tag]:
    """The selectolax backend's _nested: a <main> gives way to an <article> in it holding most of its text."""
    if len(nodes) != 1:
        return nodes
    (main,) = nodes
    floor = max(NESTED_SHARE * paragraphs.of(main), 1)
    inner = [
        n
        for n in found
        if n is not main and paragraphs.of(n) >= floor and any(parent is main for parent in n.parents)
    ]
    return [max(inner, key=lambda n: paragraphs.depth[id(n)])] if inner else nodes


def _find_main(body: Tag, skip: set[int], paragraphs: _Paragraphs) -> list[Tag] | None:
    body_len = _text_len(body, skip)
    if not body_len:
        return None
    judge_paragraphs = paragraphs.total >= MIN_PARAGRAPH_TEXT
    by_selector = [
        [
            n
            for n in body.select(selector)
            if not any(id(p) in skip for p in (n, *n.parents)) and not _names_comments(n)
        ]
        for selector in MAIN_SELECTORS
    ]
    found = [n for nodes in by_selector for n in nodes]
    for selector, nodes in zip(MAIN_SELECTORS, by_selector):
        if not nodes:
            continue
        if selector == "article":
            nodes = _outermost(nodes)
        elif judge_paragraphs and len(nodes) > 1:
            held = [paragraphs.of(n) for n in nodes]
            nodes = [nodes[held.index(max(held))]]
        else:
            nodes = [max(nodes, key=lambda n: _text_len(n, skip))]
        if judge_paragraphs:
            held = sum(paragraphs.of(n) for n in nodes)
            if held >= MIN_MAIN_PARAGRAPHS * paragraphs.total or paragraphs.holds_densest(nodes):
                return _nested(nodes, found, paragraphs)
            continue
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
        if node.name in PROTECTED_TAGS and not (node.name == "article" and _names_comments(node)):
            continue
        attrs = (_attr(node, "class"), _attr(node, "id"), _attr(node, "role"))
        if not is_boilerplate(node.name, *attrs, node.has_attr("hidden"), _attr(node, "style")):
            continue
        if node.name not in INLINE_TAGS and node.name not in BOILERPLATE_TAGS:
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
    main = None
    roots = [body]
    if opts.main_content:
        paragraphs = _Paragraphs(body, skip)
        main = _find_main(body, skip, paragraphs)
        roots = [paragraphs.narrow(root) for root in main or [body]]
        for root in roots:
            _drop_boilerplate(root, main is not None, skip)
    heuristics = opts.main_content and main is None
    pres: list[str] = []
    raw = BLOCK.join(_render(root, skip, pres, heuristics) for root in roots)
    lines = finish_lines(raw, pres, heuristics, opts)
    return Extracted("\n".join(lines), title, canonical, main is not None, lines)
