"""Main-content extraction on selectolax's lexbor parser (the default backend: C parser, C selectors, one
C text() call; Python only touches the elements the rules select)."""

from __future__ import annotations

from collections.abc import Iterable

from selectolax.lexbor import LexborHTMLParser, LexborNode

from corpus.html.rules import (
    BLOCK,
    BLOCK_TAGS,
    BOILERPLATE_TAGS,
    CANDIDATE_SELECTOR,
    CONTENT_IN_MAIN,
    INLINE_TAGS,
    INVISIBLE_TAGS,
    LINK_CLOSE,
    LINK_OPEN,
    MAIN_CONTAINERS,
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
    main_rank,
    names_comments,
    pre_placeholder,
)


def _tag_ids(tags: Iterable[str]) -> frozenset[int]:
    """lexbor's ids of standard tag names: fixed numbers (a page's custom tags get ids of their own), and
    reading a node's tag_id costs less than building its tag name as a str."""
    tree = LexborHTMLParser("")
    return frozenset(tree.create_node(tag).tag_id for tag in tags)


# Tag-only groups are matched by a walk filtered in Python on tag ids: lexbor tests every selector of a group
# on every element, so its 17-tag invisible group costs more than one traverse() (5.7% of extraction's
# instructions on python-docs), and the 46-tag block group more than twice as much (0.5 ms against 1.2 ms)
_PRE_IDS = _tag_ids(PRE_TAGS)
_BREAK_IDS = _tag_ids((*BLOCK_TAGS, "br"))
(_BR_ID,) = _tag_ids(("br",))
_INVISIBLE_IDS = _tag_ids(INVISIBLE_TAGS)
_BOILERPLATE_IDS = _tag_ids(BOILERPLATE_TAGS)
(_P_ID,) = _tag_ids(("p",))
# invisible elements that may hold a <p> (scripts, styles and void inputs cannot)
_HOLDER_IDS = _INVISIBLE_IDS - _tag_ids(("script", "style", "input", "textarea"))
_WALKED_IDS = _INVISIBLE_IDS | _PRE_IDS | _BOILERPLATE_IDS | {_P_ID}
_ANY_MAIN = ", ".join(MAIN_SELECTORS)


def _text_len(node: LexborNode) -> int:
    """Length of the text, source indentation included: only ever compared as a share of another."""
    return len(node.text())


def _solid_len(node: LexborNode) -> int:
    """Length of the text without the whitespace around each text node: parsers keep or drop blank text
    between elements differently, and the paragraph rules compare differences of lengths."""
    return len(node.text(strip=True))


def _has_ancestor(node: LexborNode, ids: set[int]) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.mem_id in ids:
            return True
        parent = parent.parent
    return False


def _within(node: LexborNode, root: LexborNode) -> bool:
    """`node` is `root` or still under it (not deleted since, not inside a <pre> replaced since)."""
    return node.mem_id == root.mem_id or _has_ancestor(node, {root.mem_id})


def _inside(node: LexborNode, tags: tuple[str, ...]) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in tags:
            return True
        parent = parent.parent
    return False


def _outermost(nodes: list[LexborNode]) -> list[LexborNode]:
    """Drop nodes nested inside another node of the list."""
    if len(nodes) < 2:
        return nodes
    ids = {n.mem_id for n in nodes}
    return [n for n in nodes if not _has_ancestor(n, ids)]


def _unique(nodes: Iterable[LexborNode]) -> list[LexborNode]:
    """A selector group returns an element once per selector it matches (a div with a class, an id and a role
    comes back three times, as three node objects): each element once, in document order."""
    seen: set[int] = set()
    return [n for n in nodes if not (n.mem_id in seen or seen.add(n.mem_id))]


def _decompose(nodes: Iterable[LexborNode]) -> None:
    """Delete nodes given in document order, each once (lexbor would free an element twice). Last first: a
    descendant comes after its ancestor in document order, so it is gone before its ancestor is, and no node
    object ever points into a freed subtree."""
    for node in reversed(_unique(nodes)):
        node.decompose()


class _Paragraphs:
    """Paragraph text (see rules.MIN_PARAGRAPH_CHARS) held by each element of the body: every <p> of at least
    that many characters adds its length to itself and each of its ancestors."""

    def __init__(self, body: LexborNode, paragraphs: list[LexborNode]) -> None:
        self.depth: dict[int, int] = {}
        self.nodes: dict[int, LexborNode] = {}
        parent_of: dict[int, int | None] = {}
        own: dict[int, int] = {}  # each <p>'s own length
        direct: dict[int, int] = {}  # paragraph text of each element's own <p> children
        body_id = body.mem_id
        for p in paragraphs:
            size = _solid_len(p)
            if size < MIN_PARAGRAPH_CHARS:
                continue
            # walk up to the first element seen before (its ancestors are known), creating each node object
            # once per page rather than once per paragraph and level: sums are added up afterwards
            chain, node, known = [], p, None
            while node is not None:
                key = node.mem_id
                if key in parent_of:
                    known = key
                    break
                chain.append(node)
                if key == body_id:
                    break
                node = node.parent
            level = self.depth[known] if known is not None else -1
            up = known
            for node in reversed(chain):
                level += 1
                key = node.mem_id
                parent_of[key], self.depth[key], self.nodes[key] = up, level, node
                up = key
            own[p.mem_id] = size
            parent = parent_of[p.mem_id]
            if parent is not None:
                direct[parent] = direct.get(parent, 0) + size
        # each element holds its own paragraphs' text and its children's, deepest first
        self.held: dict[int, int] = dict.fromkeys(parent_of, 0)
        self.held.update(own)
        for key in sorted(parent_of, key=self.depth.__getitem__, reverse=True):
            parent = parent_of[key]
            if parent is not None:
                self.held[parent] += self.held[key]
        self.total = self.held.get(body_id, 0)
        self.densest = max(direct, key=direct.__getitem__) if direct else None

    def of(self, node: LexborNode) -> int:
        return self.held.get(node.mem_id, 0)

    def holds_densest(self, nodes: list[LexborNode]) -> bool:
        """One of `nodes` is or holds the densest block: the parent of the most paragraph text."""
        if self.densest is None:
            return False
        ids = {n.mem_id for n in nodes}
        return self.densest in ids or _has_ancestor(self.nodes[self.densest], ids)

    def narrow(self, root: LexborNode) -> LexborNode:
        """The deepest block under `root` holding NARROW_SHARE of its paragraph text (those blocks are nested
        in one another: two disjoint ones cannot both hold more than half), or `root`."""
        total = self.of(root)
        if total < MIN_PARAGRAPH_TEXT or root.mem_id not in self.depth:
            return root
        floor, root_depth = NARROW_SHARE * total, self.depth[root.mem_id]
        chain = [
            key
            for key, held in self.held.items()
            if held >= floor and self.depth[key] > root_depth and self.nodes[key].tag != "p"
        ]
        if not chain:
            return root
        root_len = None
        for key in sorted(chain, key=self.depth.__getitem__, reverse=True):
            node = self.nodes[key]
            if not _has_ancestor(node, {root.mem_id}):
                return root
            # what is cut must be mostly something else than paragraphs: feeds, link lists, furniture
            if self.held[key] == total:  # no paragraph is cut: no need to measure the rest
                return node
            root_len = _solid_len(root) if root_len is None else root_len
            cut = root_len - _solid_len(node)
            if total - self.held[key] <= MAX_CUT_PARAGRAPHS * cut:
                return node
        return root


def _find_main(body: LexborNode, html_len: int, paragraphs: _Paragraphs) -> list[LexborNode] | None:
    found = _unique(body.css(_ANY_MAIN))  # one tree walk for all of them; then rank the few hits
    if not found:
        return None
    # a comment thread in <article class="comment"> elements is not the article
    found = [n for n in found if not _names_comments(n)]
    ranks = [main_rank(n.tag, n.attributes) for n in found]
    judge_paragraphs = paragraphs.total >= MIN_PARAGRAPH_TEXT
    body_len = None
    for rank, (tag, _, _) in enumerate(MAIN_CONTAINERS):
        nodes = [n for n, r in zip(found, ranks) if r == rank]
        if not nodes:
            continue
        if tag == "article":  # a listing page has several: keep every outermost one, in order
            nodes = _outermost(nodes)
        if judge_paragraphs:  # the paragraphs decide, whatever the share of all text (feeds, link lists)
            if tag != "article" and len(nodes) > 1:  # the one with the most paragraph text, not a long feed
                held = [paragraphs.of(n) for n in nodes]
                nodes = [nodes[held.index(max(held))]]
            held_total = sum(paragraphs.of(n) for n in nodes)
            if held_total >= MIN_MAIN_PARAGRAPHS * paragraphs.total or paragraphs.holds_densest(nodes):
                return _nested(nodes, found, paragraphs)
            continue
        if tag == "article":
            share = sum(_text_len(n) for n in nodes)
        else:
            lengths = [_text_len(n) for n in nodes]
            share = max(lengths)
            nodes = [nodes[lengths.index(share)]]  # the first longest
        if not share:
            continue
        # the body's text is never longer than the page's source, so a main container holding a fair share
        # of the source needs no text() of the whole body
        if share >= MIN_MAIN_SHARE * html_len:
            return nodes
        body_len = _text_len(body) if body_len is None else body_len
        if body_len and share >= MIN_MAIN_SHARE * body_len:
            return nodes
    return None


def _nested(nodes: list[LexborNode], found: list[LexborNode], paragraphs: _Paragraphs) -> list[LexborNode]:
    """A <main> that holds an <article> with most of its paragraph text (NESTED_SHARE) gives way to it: the
    rest of the <main> is related stories, teasers and share bars."""
    if len(nodes) != 1:
        return nodes
    (main,) = nodes
    floor = max(NESTED_SHARE * paragraphs.of(main), 1)
    inner = [
        n
        for n in found
        if n.mem_id != main.mem_id and paragraphs.of(n) >= floor and _has_ancestor(n, {main.mem_id})
    ]
    return [max(inner, key=lambda n: paragraphs.depth[n.mem_id])] if inner else nodes


def _names_comments(node: LexborNode) -> bool:
    attrs = node.attributes
    return names_comments(attrs.get("class"), attrs.get("id"))


def _drop_boilerplate(root: LexborNode, furniture: list[LexborNode], in_main: bool) -> None:
    nodes = [n for n in furniture if _within(n, root)]  # the body's furniture (see _walk_body) in this root
    if nodes:
        keep_content = [n for n in nodes if n.tag in CONTENT_IN_MAIN and (in_main or _inside(n, MAIN_TAGS))]
        keep_ids = {n.mem_id for n in keep_content}
        _decompose(n for n in nodes if n.mem_id not in keep_ids)
    scope_len = None
    victims = []
    for node in _unique(root.css(CANDIDATE_SELECTOR)):  # each element judged once
        tag = node.tag
        attrs = node.attributes
        if tag in PROTECTED_TAGS and not (
            tag == "article" and names_comments(attrs.get("class"), attrs.get("id"))
        ):
            continue
        if not is_boilerplate(
            tag, attrs.get("class"), attrs.get("id"), attrs.get("role"), "hidden" in attrs, attrs.get("style")
        ):
            continue
        # a layout wrapper named "page-with-sidebar" must not take the page with it; an <aside class="sidebar">
        # (named and tagged furniture) goes whatever it holds
        if tag not in INLINE_TAGS and tag not in BOILERPLATE_TAGS:
            scope_len = _text_len(root) if scope_len is None else scope_len
            if _text_len(node) > MAX_BOILERPLATE_SHARE * scope_len:
                continue
        victims.append(node)
    _decompose(victims)


def _walk_body(body: LexborNode) -> tuple[list[LexborNode], list[LexborNode], list[LexborNode]]:
    """One walk of the body: deletes the elements no reader sees, and returns the <pre>-like ones (for `_mark`),
    the furniture tags (nav, footer, ...: for `_drop_boilerplate`) and the visible <p>s (for `_Paragraphs`: a
    css("p") would walk the whole tree again), each in document order."""
    hits = [(node, tag) for node in body.traverse() if (tag := node.tag_id) in _WALKED_IDS]
    invisible = [node for node, tag in hits if tag in _INVISIBLE_IDS]
    paragraphs = [node for node, tag in hits if tag == _P_ID]
    # a <p> inside an invisible element goes with it: found before the deletion, never touched after
    holders = {n.mem_id for n in invisible if n.tag_id in _HOLDER_IDS and n.css_first("p") is not None}
    if holders:
        paragraphs = [p for p in paragraphs if not _has_ancestor(p, holders)]
    _decompose(invisible)
    pre_nodes = [node for node, tag in hits if tag in _PRE_IDS]
    return pre_nodes, [node for node, tag in hits if tag in _BOILERPLATE_IDS], paragraphs


def _mark(root: LexborNode, pre_nodes: list[LexborNode], pres: list[str], links: bool) -> None:
    # the outermost <pre>s still in this root (not deleted since, not inside an earlier one) become
    # placeholders first, so that the walk for block elements never enters their subtrees
    for pre in pre_nodes:
        if _within(pre, root):
            pres.append(pre.text())
            pre.replace_with(pre_placeholder(len(pres) - 1))
            if pre.mem_id == root.mem_id:  # the root itself: nothing is left to mark
                return
    breaks = [(node, tag) for node in root.traverse() if (tag := node.tag_id) in _BREAK_IDS]
    for node, tag in breaks:
        if tag == _BR_ID:
            node.replace_with(BLOCK)
        else:
            node.insert_before(BLOCK)
            node.insert_after(BLOCK)
    if links:
        for node in root.css("a[href]"):
            node.insert_before(LINK_OPEN)
            node.insert_after(LINK_CLOSE)


def _title(tree: LexborHTMLParser) -> str:
    node = tree.head.css_first("title") if tree.head is not None else None
    title = collapse(node.text()) if node is not None else ""
    if not title and tree.body is not None and (h1 := tree.body.css_first("h1")) is not None:
        title = collapse(h1.text())
    return title


def _canonical(tree: LexborHTMLParser) -> str:
    node = tree.head.css_first('link[rel~="canonical" i][href]') if tree.head is not None else None
    return (node.attributes.get("href") or "").strip() if node is not None else ""


def extract(html: bytes, opts: Options) -> Extracted:
    """Extract from a page in UTF-8 (rules.guard_utf8 gives it)."""
    html = clean_input(html)
    tree = LexborHTMLParser(html)
    body = tree.body
    if body is None:
        return Extracted("")
    pre_nodes, furniture, paragraph_nodes = _walk_body(body)
    title, canonical = _title(tree), _canonical(tree)
    main = None
    roots = [body]
    if opts.main_content:
        paragraphs = _Paragraphs(body, paragraph_nodes)
        main = _find_main(body, len(html), paragraphs)
        # without a main container the page is still judged line by line (menus, link lists) after narrowing
        roots = [paragraphs.narrow(root) for root in main or [body]]
        for root in roots:
            _drop_boilerplate(root, furniture, in_main=main is not None)
    heuristics = opts.main_content and main is None
    pres: list[str] = []
    for root in roots:
        _mark(root, pre_nodes, pres, links=heuristics)
    raw = BLOCK.join(root.text() for root in roots)
    lines = finish_lines(raw, pres, heuristics, opts)
    return Extracted("\n".join(lines), title, canonical, main is not None, lines)
