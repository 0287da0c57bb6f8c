"""Bytes to text: charset detection for web pages and a binary-garbage check shared by the readers."""

from __future__ import annotations

import codecs
import re

from datatrove.data import Document, Media, MediaType

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_\-:.]+)""", re.I)
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))
# UTF-32 before UTF-16: the UTF-32 LE mark begins with the UTF-16 LE one
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def looks_binary(raw: bytes) -> bool:
    """True for data that is not text in any encoding: NUL bytes or many C0 control bytes in the head."""
    head = raw[:8192]
    if not head:
        return False
    for bom, codec in _BOMS[1:]:  # UTF-16/32 text is full of NUL bytes: judge its characters instead
        if head.startswith(bom):
            unit = 4 if "32" in codec else 2
            text = head[len(bom) : len(head) - (len(head) - len(bom)) % unit].decode(codec, errors="replace")
            if text.count("\ufffd") > len(text) / 100:  # random bytes after the mark: lone surrogates
                return True
            head = text.encode("utf-8")
            break
    if not head:
        return False
    if b"\x00" in head:
        return True
    controls = len(head) - len(
        head.translate(None, _CONTROL_BYTES)
    )  # C speed: a byte loop cost 0.3 ms a file
    return controls / len(head) > 0.05


def _codec(name: str | bytes | None) -> str | None:
    if not name:
        return None
    if isinstance(name, bytes):
        name = name.decode("ascii", "ignore")
    try:
        codec = codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None
    # browsers treat latin-1 labels as windows-1252 (WHATWG encoding standard)
    return "cp1252" if codec in ("latin_1", "iso8859-1", "ascii") else codec


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = re.search(r"charset\s*=\s*([^\s;]+)", content_type, re.I)
    return _codec(match.group(1)) if match else None


def decode_text(raw: bytes, declared: str | None = None, sniff_html: bool = False) -> tuple[str, bool]:
    """Decode bytes using, in order: a BOM, the declared charset (HTTP header), the HTML meta / XML
    declaration, UTF-8, then windows-1252. Returns (text, clean) where clean is False when bytes had to be
    replaced, so the caller can count the document under `invalid_encoding`."""
    text, clean, _ = decode_with_codec(raw, declared, sniff_html)
    return text, clean


def decode_with_codec(
    raw: bytes, declared: str | None = None, sniff_html: bool = False
) -> tuple[str, bool, str]:
    """`decode_text`, and the codec that decoded the bytes whole ("" when bytes were replaced or a BOM was
    cut): with "utf-8" the bytes are the text's UTF-8 encoding."""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom) :].decode(codec), True, ""
            except UnicodeDecodeError:  # a cut or damaged file: keep it, with replacement characters
                return raw[len(bom) :].decode(codec, errors="replace"), False, ""
    candidates: list[str] = []
    if declared:
        candidates.append(declared)
    if sniff_html:
        head = raw[:4096]
        match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
        if match and (codec := _codec(match.group(1))):
            candidates.append(codec)
    candidates += ["utf-8", "cp1252"]
    for codec in dict.fromkeys(candidates):
        try:
            return raw.decode(codec), True, codec
        except UnicodeDecodeError:
            if codec == "utf-8" and (text := _mostly_utf8(raw)) is not None:
                return text, False, ""
        except LookupError:
            continue
    return raw.decode("utf-8", errors="replace"), False, ""


def keep_utf8(doc: Document, utf8: bytes) -> None:
    """Let later steps reuse the bytes the document's text was decoded from (html_extract hands them to
    lexbor instead of encoding the page again). They ride in `doc.media` with the very text object they
    encode, so a step that changes the text makes them stale, and `utf8_of` then says so."""
    doc.media.append(
        Media(id=doc.id, type=MediaType.DOCUMENT, url="", media_bytes=utf8, metadata={"of": doc.text})
    )


def utf8_of(doc: Document) -> bytes | None:
    """The UTF-8 bytes of doc.text kept by `keep_utf8`, or None when there are none or the text changed."""
    for media in doc.media:
        if media.metadata.get("of") is doc.text and media.media_bytes is not None:
            return media.media_bytes
    return None


def drop_utf8(doc: Document) -> None:
    doc.media = [media for media in doc.media if "of" not in media.metadata]


_NON_ASCII = re.compile("[^\x00-\x7f\ufffd]")


def _mostly_utf8(raw: bytes) -> str | None:
    """UTF-8 text with a few stray bytes (a pasted windows-1252 paragraph, a cut at the end) stays UTF-8 with
    U+FFFD for the bad bytes: decoding all of it as windows-1252 would turn every good character into
    mojibake. Text whose non-ASCII bytes never form a UTF-8 sequence is left to the single-byte codecs."""
    text = raw.decode("utf-8", errors="replace")
    valid = len(_NON_ASCII.findall(text))
    return text if valid > text.count("\ufffd") else None
