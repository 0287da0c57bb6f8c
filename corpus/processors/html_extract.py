"""Step `html_extract`: replace an HTML page by the text of its main content.

Applies to documents whose metadata says content_type "html" (what the readers give HTML files and WARC
responses); every other document passes untouched. The page's <title> goes to metadata["title"] and its
canonical URL to metadata["url"] when the document has none. A page with no text left is dropped as
`empty_after_extraction` and keeps its HTML in the rejected dataset, so the drop can be audited.
"""

from __future__ import annotations

import logging

from datatrove.data import Document

from corpus.errors import RecipeError
from corpus.html import BACKENDS, extract_html
from corpus.html.rules import Options
from corpus.readers.decode import drop_utf8, utf8_of
from corpus.step import DocumentStep

log = logging.getLogger(__name__)


class HtmlExtract(DocumentStep):
    """Main-content extraction. `backend`: "selectolax" (lexbor, default, fast) or "bs4" (beautifulsoup4 +
    lxml, same rules, ~30x slower). `main_content=False` keeps all visible text (only scripts, styles and
    other invisible elements go). The main container is the first of <main>, role=main, <article>, Sphinx
    div.body, common content ids/classes that holds the page's paragraphs (the densest block of <p> text, or
    60% of it: a story feed or a comment thread does not qualify), narrowed to the article's own block when
    what is cut is mostly not paragraphs (teasers, related links, share bars). Inside it, navigation, footers,
    sidebars, comments, ads, share bars and hidden elements go (judged on whole words of class and id).
    Without a main container, runs of at least `min_menu_lines` short lines whose link text is at least
    `max_link_density` of their text are dropped as menus. `keep_title_line` puts the <title> first. Pages
    longer than `max_html_chars` (default: 20M characters for selectolax, 8M for bs4) are cut to that
    length."""

    name = "html_extract"

    def __init__(
        self,
        backend: str = "selectolax",
        main_content: bool = True,
        keep_title_line: bool = False,
        max_link_density: float = 0.5,
        min_menu_lines: int = 3,
        max_html_chars: int | None = None,
    ) -> None:
        super().__init__()
        self.validate_options(
            {"backend": backend, "max_link_density": max_link_density, "min_menu_lines": min_menu_lines}
            | ({"max_html_chars": max_html_chars} if max_html_chars is not None else {})
        )
        self.backend = backend
        self.keep_title_line = keep_title_line
        self.max_html_chars = max_html_chars
        self.options = Options(
            main_content=main_content, max_link_density=max_link_density, min_menu_lines=min_menu_lines
        )
        self._warned = False

    @classmethod
    def validate_options(cls, options: dict) -> None:
        if options.get("backend", "selectolax") not in BACKENDS:
            raise RecipeError(
                f"step 'html_extract': backend {options['backend']!r} is not one of: {', '.join(BACKENDS)}"
            )
        if not 0 < options.get("max_link_density", 0.5) <= 1:
            raise RecipeError("step 'html_extract': max_link_density must be in (0, 1]")
        if options.get("min_menu_lines", 3) < 1:
            raise RecipeError("step 'html_extract': min_menu_lines must be at least 1")
        if (options.get("max_html_chars") or 1) < 1:
            raise RecipeError("step 'html_extract': max_html_chars must be positive")

    def apply(self, doc: Document) -> bool | str | None:
        meta = doc.metadata
        if meta.get("content_type") != "html":
            return None
        utf8 = utf8_of(doc)
        drop_utf8(doc)  # the text is about to change
        try:
            result = extract_html(doc.text or "", self.backend, self.options, self.max_html_chars, utf8)
        except Exception as err:  # a parser failure on one page is that page's problem, not the run's
            if not self._warned:
                log.warning(
                    "html_extract: %s: %s: %s (further errors only counted)", doc.id, type(err).__name__, err
                )
                self._warned = True
            return "html_extraction_error"
        for flag in result.flags:
            self.stat_update(flag)
        self.stat_update("main_container" if result.main_found else "no_main_container")
        if not result.text:
            return "empty_after_extraction"
        text = result.text
        if self.keep_title_line and result.title and result.lines[0] != result.title:
            text = f"{result.title}\n{text}"
        doc.text = text
        meta["content_type"] = "text"
        if result.title and not meta.get("title"):
            meta["title"] = result.title
        # only web addresses: a file:// canonical (Sphinx builds have them) names the builder's disk
        if not meta.get("url") and result.canonical_url.startswith(("http://", "https://")):
            meta["url"] = result.canonical_url
        return None
