"""Step `normalize`: Unicode repair (ftfy), normalization form, control characters, whitespace, and removal
of configurable character classes."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import regex
from datatrove.data import Document

from corpus.errors import RecipeError
from corpus.step import DocumentStep, is_blank, map_text

FORMS = ("NFC", "NFKC", "NFD", "NFKD", "none")
_ENTITY = re.compile(r"&(?:[a-zA-Z]{2,8}|#[0-9]{2,6}|#x[0-9a-fA-F]{2,5});")
_ASCII_NEEDS_FTFY = re.compile(r"\x1b|\r")
# what UTF-8 read as latin-1/windows-1252 looks like: a lead byte's character (Â..ô) followed by a continuation
# byte's (U+0080..U+00BF or the windows-1252 specials), or a C1 control. Text without one has no mojibake for
# ftfy to fix, and this scan runs at hundreds of MB/s where ftfy's own badness check runs at about 5
_MOJIBAKE_HINT = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]|[\u0080-\u009f]"
)
# the characters a hint starts with, as one class: a scan for it runs ~3x faster than the hint pattern itself,
# and most non-ASCII text has none of them
_MOJIBAKE_START = re.compile("[\u0080-\u009f\u00c2-\u00f4]")
# C0 controls except tab and newline, DEL, and the C1 range; lone surrogates; BOM and other invisible
# format characters that only ever arrive as damage (zero-width joiners stay: emoji and Indic scripts use them)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff\u200b\u2060]")
_EXOTIC_SPACE = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_SPACE_RUN = re.compile(r"[ \t]{2,}")
_TRAILING_SPACES = re.compile(r"[ \t]+$", re.M)
_BLANK_LINES = re.compile(r"\n{3,}")
_CATEGORY = re.compile(r"^[A-Z][a-z]?$")
# every character that one of the checks above looks for (ftfy's hints, controls, exotic spaces): one scan
# for it clears most documents, where three scans would each read the whole text
_SUSPECT = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00a0\u00c2-\u00f4\u1680\u2000-\u200b\u202f\u205f\u2060\u3000"
    "\ud800-\udfff\ufeff\ufffe\uffff]"
)

# a line that ftfy is run on (see Normalize._fix_lines): one holding a suspect character or an entity
_NEEDS_FTFY_LINE = re.compile(f"{_SUSPECT.pattern}|{_ENTITY.pattern}")


def _collapse_inner_spaces(text: str) -> str:
    """Runs of spaces and tabs inside a line become one space; leading indentation (code blocks) stays.
    Line by line, only lines holding a run: 3x faster than one regex with a look-behind over the text."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if "  " in line or "\t" in line:
            body = line.lstrip(" \t")
            lines[i] = line[: len(line) - len(body)] + _SPACE_RUN.sub(" ", body)
    return "\n".join(lines)


class Normalize(DocumentStep):
    """Repair and normalize text. `ftfy`: fix mojibake, HTML entities left in text, C1 controls and odd line
    breaks with ftfy, only on documents where a cheap check finds something to fix (ASCII text without an
    entity is never handed to ftfy; other text only when ftfy's own badness check or an entity fires), and
    there only on the lines holding a suspect character or an entity; curly quotes are kept. `form`: Unicode normalization (NFC default, NFKC folds ligatures and full-width forms,
    or none). `control_chars`: drop control characters, lone surrogates, BOMs and zero-width spaces (tab and
    newline stay). `whitespace`: exotic spaces become plain ones, runs of spaces inside a line collapse to one
    (leading indentation is kept, code blocks stay readable), trailing spaces go, and at most one blank line
    separates paragraphs. `remove_categories`: Unicode general categories or their first letter whose
    characters are deleted, e.g. [So, Co] for symbols and private-use characters, [P] for all punctuation;
    `keep_chars` lists characters never deleted. A document left empty is dropped as
    `empty_after_normalize`. On conversations each turn is normalized."""

    name = "normalize"

    def __init__(
        self,
        ftfy: bool = True,
        form: str = "NFC",
        control_chars: bool = True,
        whitespace: bool = True,
        remove_categories: list[str] | None = None,
        keep_chars: str = "",
    ) -> None:
        self.validate_options({"form": form, "remove_categories": remove_categories})
        super().__init__()
        self.use_ftfy, self.form = ftfy, form
        self.control_chars, self.whitespace = control_chars, whitespace
        self.remove_categories, self.keep_chars = list(remove_categories or []), keep_chars
        self._removal = None
        if self.remove_categories:
            keep = "".join(regex.escape(c) for c in keep_chars)
            classes = "".join(rf"\p{{{c}}}" for c in self.remove_categories)
            self._removal = regex.compile(f"(?![{keep}])[{classes}]" if keep else f"[{classes}]")
        self._ftfy_config = None

    @classmethod
    def validate_options(cls, options: dict[str, Any]) -> None:
        if options.get("form", "NFC") not in FORMS:
            raise RecipeError(
                f"step 'normalize': form must be one of {', '.join(FORMS)}, got {options['form']!r}"
            )
        for category in options.get("remove_categories") or []:
            if not isinstance(category, str) or not _CATEGORY.match(category):
                raise RecipeError(
                    f"step 'normalize': remove_categories holds {category!r}; use Unicode general categories "
                    "such as So, Sk, Co, Cf, or one letter (S, P) for a whole class"
                )

    def _fix(self, text: str, suspect: bool) -> str:
        import ftfy

        if self._ftfy_config is None:
            self._ftfy_config = ftfy.TextFixerConfig(uncurl_quotes=False, normalization=None, explain=False)
        # `suspect`: the text holds a character that a hint below looks for (see _SUSPECT)
        if text.isascii():
            needs = suspect and _ASCII_NEEDS_FTFY.search(text)
        else:
            needs = suspect and (
                "\r" in text
                or (
                    _MOJIBAKE_START.search(text) and _MOJIBAKE_HINT.search(text) and ftfy.badness.is_bad(text)
                )
            )
        if not (needs or _ENTITY.search(text)):
            return text
        self.stat_update("ftfy_checked")
        fixed = self._fix_lines(text)
        if fixed != text:
            self.stat_update("ftfy_fixed")
        return fixed

    def _fix_lines(self, text: str) -> str:
        """ftfy.fix_text, run on the lines that hold something a check looks for (a suspect character or an
        entity) and on no others. fix_text itself fixes a text line by line (each line with its "\n", on its
        own), so a page with one entity costs ftfy one line instead of the whole page (~30 ms)."""
        import ftfy

        config, pos, out = self._ftfy_config, 0, []
        too_long = (
            len(text) >= config.max_decode_length
            and max(map(len, text.split("\n"))) >= config.max_decode_length
        )
        if "\n" not in text or too_long:
            return ftfy.fix_text(text, config)  # one line, or one so long that fix_text cuts it in pieces
        first_lt = text.find("<")  # fix_text's unescape_html="auto": off from the first line holding a "<"
        found = _NEEDS_FTFY_LINE.search(text)
        while found:
            start = text.rfind("\n", 0, found.start()) + 1
            end = text.find("\n", found.start()) + 1 or len(text)
            line_config = (
                config if first_lt == -1 or first_lt >= end else config._replace(unescape_html=False)
            )
            out += [text[pos:start], ftfy.fix_and_explain(text[start:end], line_config).text]
            pos = end
            found = _NEEDS_FTFY_LINE.search(text, end)
        out.append(text[pos:])
        return "".join(out)

    def normalize_text(self, text: str) -> str:
        suspect = bool(_SUSPECT.search(text))
        if self.use_ftfy:
            fixed = self._fix(text, suspect)
            if fixed is not text:
                text, suspect = fixed, bool(_SUSPECT.search(fixed))
        if self.control_chars and suspect and _CONTROL.search(text):  # deleting makes no new suspect
            cleaned = _CONTROL.sub("", text)
            if len(cleaned) != len(text):
                self.stat_update("control_chars_removed", value=len(text) - len(cleaned))
                text = cleaned
        if self.form != "none" and not text.isascii() and not unicodedata.is_normalized(self.form, text):
            text = unicodedata.normalize(self.form, text)  # a normalization form can make any character
            suspect = bool(_SUSPECT.search(text))
            self.stat_update("unicode_normalized")
        if self._removal is not None:
            cleaned = self._removal.sub("", text)
            if len(cleaned) != len(text):
                self.stat_update("chars_removed", value=len(text) - len(cleaned))
                text = cleaned
        if self.whitespace:
            if suspect and not text.isascii():
                text = _EXOTIC_SPACE.sub(" ", text)
            # each regex only where a cheap substring test says it has work to do
            if "  " in text or "\t" in text:
                text = _collapse_inner_spaces(text)
            if " \n" in text or "\t\n" in text:
                text = _TRAILING_SPACES.sub("", text)
            if "\n\n\n" in text:
                text = _BLANK_LINES.sub("\n\n", text)
            text = text.strip()
        return text

    def apply(self, doc: Document) -> bool | str | None:
        map_text(doc, self.normalize_text)
        if is_blank(doc):
            return "empty_after_normalize"
        return None
