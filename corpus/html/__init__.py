"""HTML to main-content text. `extract_html(html)` is the one entry point; the backends share `rules`.

>>> from corpus.html import extract_html
>>> extract_html("<nav>Home</nav><main><h1>Hi</h1><p>Body &amp; soul</p></main>").text
'Hi\\nBody & soul'
"""

from __future__ import annotations

from corpus.html.rules import Extracted, Options, guard, guard_utf8

BACKENDS = ("selectolax", "bs4")
# Largest page parsed whole, per backend, so that one page stays under ~0.5 GB: lexbor needs ~300 bytes a
# node and ~20 per input character, bs4 ~1 KB a node. Larger pages are cut (and counted as html_truncated).
MAX_HTML_CHARS = {"selectolax": 20_000_000, "bs4": 8_000_000}
MAX_HTML_TAGS = {"selectolax": 1_500_000, "bs4": 400_000}

__all__ = ["BACKENDS", "MAX_HTML_CHARS", "MAX_HTML_TAGS", "Extracted", "Options", "extract_html"]


def extract_html(
    html: str,
    backend: str = "selectolax",
    options: Options | None = None,
    max_chars: int | None = None,
    utf8: bytes | None = None,
) -> Extracted:
    """Extract the main content of one page as lines of text, with its title and canonical URL. `utf8`: the
    page's UTF-8 encoding when the caller has it (the selectolax backend then skips encoding it)."""
    if backend == "selectolax":
        from corpus.html.selectolax_backend import extract
    elif backend == "bs4":
        from corpus.html.bs4_backend import extract
    else:
        raise ValueError(f"unknown HTML backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    limits = max_chars or MAX_HTML_CHARS[backend], MAX_HTML_TAGS[backend]
    page, flags = guard_utf8(html, *limits, utf8) if backend == "selectolax" else guard(html, *limits)
    result = extract(page, options or Options())
    result.flags = flags
    return result
