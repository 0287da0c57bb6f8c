"""Step `pii`: redact e-mail addresses, IP addresses and phone numbers."""

from __future__ import annotations

import ipaddress
import re

import pyarrow as pa
import pyarrow.compute as pc
from datatrove.data import Document

from corpus.augment.protect import PATTERNS
from corpus.step import DocumentStep, map_text

EMAIL = re.compile(PATTERNS["email"])  # the definition (tests check email_spans against it)
_EMAIL_LOCAL = re.compile(r"[\w.+-]+\Z")  # searched in the 64 characters before an "@"
_EMAIL_DOMAIN = re.compile(r"[\w-]+(?:\.[\w-]+)+")
# four dotted octets, not part of a longer dotted number (a version such as 1.2.3.4.5) or a word. The
# patterns start with a digit, +, ( or hex digit so that re's prefix scan skips ordinary text; the
# "not preceded by" checks run in the replacement callbacks, on matches only
_IPV4_BODY, _IPV4_END = r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}", r"(?!\w|\.\d)"
IPV4 = re.compile(_IPV4_BODY + _IPV4_END)  # octets checked by ipaddress
# from a colon onwards (a literal re finds fast); up to 4 hex digits before it are added by hand
_IPV6_TAIL = re.compile(r":(?:[0-9A-Fa-f]{0,4}:){1,6}[0-9A-Fa-f]{0,4}(?![\w:])")
_HEX = frozenset("0123456789abcdefABCDEF")
# international (+CC then 6-14 more digits in groups), North American (555) 010-4477 / 555-010-4477, and
# the short local 555-0143 form: three patterns applied in turn (each starts with a literal or a digit class
# that re's prefix scan finds fast; one alternation of them scans 3x slower)
_PHONE_END = r"(?![\w\-]|[.,]\d)"
_PHONE_BODIES = (
    r"\+\d{1,3}(?:[ .\-]?\(\d{1,4}\))?(?:[ .\-]?\d{2,4}){2,4}",
    r"\(\d{3}\)[ .\-]?\d{3}[ .\-]\d{4}",
    r"\d\d\d(?:[.\-]\d{3}[.\-]\d{4}|-\d{4})",
)
PHONES = tuple(re.compile(body + _PHONE_END) for body in _PHONE_BODIES)
_PREFILTER_MIN_CHARS = 4096  # below this a pyarrow call costs more than the re scans it saves


# An RE2 pattern that matches wherever IPV4 or a PHONES pattern can: theirs without the look-aheads (which RE2
# lacks) on ASCII digits, or else any decimal digit outside ASCII (re's \d takes those too; [^\P{Nd}0-9] is
# RE2 for "Nd but not 0-9"). RE2 (a DFA, through pyarrow) scans it ~5x faster than re scans the four
# patterns, and most long pages have no match, so they skip those scans.
_DIGITS_PREFILTER = "|".join(
    [body.replace(r"\d", "[0-9]") for body in (_IPV4_BODY, *_PHONE_BODIES)] + [r"[^\P{Nd}0-9]"]
)
_GLUED_BEFORE = {"ipv4": re.compile(r"[\w.]"), "ipv6": re.compile(r"[\w:]"), "phone": re.compile(r"[\w+]")}


def email_spans(text: str) -> list[tuple[int, int]]:
    """Where EMAIL matches, found from each "@": the longest local part before it, a dotted domain after."""
    spans, at = [], text.find("@")
    while at != -1:
        local = _EMAIL_LOCAL.search(text, max(spans[-1][1] if spans else 0, at - 64), at)
        domain = _EMAIL_DOMAIN.match(text, at + 1)
        if local and domain:
            spans.append((local.start(), domain.end()))
            at = text.find("@", domain.end())
        else:
            at = text.find("@", at + 1)
    return spans


def ipv6_spans(text: str) -> list[tuple[int, int]]:
    """Colon runs that ipaddress accepts as an IPv6 address, with the hex digits before the first colon."""
    spans = []
    for match in _IPV6_TAIL.finditer(text):
        start = match.start()
        while start > match.start() - 4 and start > 0 and text[start - 1] in _HEX:
            start -= 1
        if start > 0 and _GLUED_BEFORE["ipv6"].match(text, start - 1):
            continue
        if any(
            ch in _HEX for ch in text[start : match.end()]
        ):  # a bare "::" is Python slicing, not an address
            spans.append((start, match.end()))
    return spans


def _may_hold_digit_pii(text: str) -> bool:
    """False when no IPv4 address or phone number can match in the text (then IPV4 and PHONES need no scan)."""
    if len(text) < _PREFILTER_MIN_CHARS:
        return True
    try:
        array = pa.array([text], pa.large_string())
    except UnicodeEncodeError:  # lone surrogates: let re decide
        return True
    return pc.match_substring_regex(array, _DIGITS_PREFILTER)[0].as_py()


def _glued(match: re.Match[str], kind: str) -> bool:
    """Whether the match continues a word or number to its left (then it is no address or phone number)."""
    start = match.start()
    return start > 0 and bool(_GLUED_BEFORE[kind].match(match.string, start - 1))


class Pii(DocumentStep):
    """Replace e-mail addresses (`emails`), IPv4 and IPv6 addresses (`ip_addresses`; with `public_ips_only`,
    private, loopback and documentation ranges are left as they are) and phone numbers (`phone_numbers`:
    +CC international numbers, (555) 010-4477 or 555-010-4477, and short 555-0143 forms) by the replacement
    strings. Each replacement is counted (pii_email, pii_ip, pii_phone) and the document's counts go to
    metadata.pii. On conversations every turn is redacted."""

    name = "pii"

    def __init__(
        self,
        emails: bool = True,
        ip_addresses: bool = True,
        phone_numbers: bool = True,
        public_ips_only: bool = False,
        email_replacement: str = "<|email|>",
        ip_replacement: str = "<|ip|>",
        phone_replacement: str = "<|phone|>",
    ) -> None:
        super().__init__()
        self.emails, self.ip_addresses, self.phone_numbers = emails, ip_addresses, phone_numbers
        self.public_ips_only = public_ips_only
        self.replacements = {"email": email_replacement, "ip": ip_replacement, "phone": phone_replacement}
        self._counts: dict[str, int] = {}

    def _is_ip(self, candidate: str) -> bool:
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            return False  # 10:30:00, 999.1.1.1 and other look-alikes
        return address.is_global or not self.public_ips_only

    def _ipv4(self, match: re.Match[str]) -> str:
        if _glued(match, "ipv4") or not self._is_ip(match.group()):
            return match.group()
        self._counts["ip"] = self._counts.get("ip", 0) + 1
        return self.replacements["ip"]

    def _replace(self, text: str, spans: list[tuple[int, int]], kind: str) -> str:
        if not spans:
            return text
        self._counts[kind] = self._counts.get(kind, 0) + len(spans)
        parts, last = [], 0
        for start, end in spans:
            parts += [text[last:start], self.replacements[kind]]
            last = end
        return "".join(parts) + text[last:]

    def _phone(self, match: re.Match[str]) -> str:
        if _glued(match, "phone"):
            return match.group()
        self._counts["phone"] = self._counts.get("phone", 0) + 1
        return self.replacements["phone"]

    def redact(self, text: str) -> str:
        if self.emails and "@" in text:
            text = self._replace(text, email_spans(text), "email")
        digits = (self.ip_addresses or self.phone_numbers) and _may_hold_digit_pii(text)
        if self.ip_addresses:
            if digits and "." in text:
                text = IPV4.sub(self._ipv4, text)
            if "::" in text or text.count(":") >= 7:
                spans = [(a, b) for a, b in ipv6_spans(text) if self._is_ip(text[a:b])]
                text = self._replace(text, spans, "ip")
        if self.phone_numbers and digits:
            for pattern in PHONES:
                text = pattern.sub(self._phone, text)
        return text

    def apply(self, doc: Document) -> bool | str | None:
        self._counts = {}
        map_text(doc, self.redact)
        if self._counts:
            doc.metadata["pii"] = dict(sorted(self._counts.items()))
            for kind, n in self._counts.items():
                self.stat_update(f"pii_{kind}", value=n)
            self.stat_update("documents_redacted")
        return None
