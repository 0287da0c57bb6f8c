"""Step `pii`: redact e-mail addresses, IP addresses and phone numbers."""

from __future__ import annotations

import ipaddress
import re

from datatrove.data import Document

from corpus.augment.protect import PATTERNS
from corpus.step import DocumentStep, map_text

EMAIL = re.compile(PATTERNS["email"])
# four dotted octets, not part of a longer dotted number (a version such as 1.2.3.4.5) or a word. The
# patterns start with a digit, +, ( or hex digit so that re's prefix scan skips ordinary text; the
# "not preceded by" checks run in the replacement callbacks, on matches only
IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?!\w|\.\d)")  # octets checked by ipaddress
IPV6 = re.compile(r"(?:[0-9A-Fa-f]{1,4}:|:){2,7}(?:[0-9A-Fa-f]{1,4}|:)(?![\w:])")
# international (+CC then 6-14 more digits in groups), North American (555) 010-4477 / 555-010-4477, and
# the short local 555-0143 form
PHONE = re.compile(
    r"(?:"
    r"\+\d{1,3}(?:[ .\-]?\(\d{1,4}\))?(?:[ .\-]?\d{2,4}){2,4}"
    r"|\(\d{3}\)[ .\-]?\d{3}[ .\-]\d{4}"
    r"|\d{3}[.\-]\d{3}[.\-]\d{4}"
    r"|\d{3}-\d{4}"
    r")(?![\w\-]|[.,]\d)"
)
_GLUED_BEFORE = {"ipv4": re.compile(r"[\w.]"), "ipv6": re.compile(r"[\w:]"), "phone": re.compile(r"[\w+]")}


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

    def _ip(self, match: re.Match[str], kind: str) -> str:
        text = match.group()
        if _glued(match, kind):
            return text
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return text  # 10:30:00 and other colon runs that are no address
        if self.public_ips_only and not address.is_global:
            return text
        self._counts["ip"] = self._counts.get("ip", 0) + 1
        return self.replacements["ip"]

    def _phone(self, match: re.Match[str]) -> str:
        if _glued(match, "phone"):
            return match.group()
        self._counts["phone"] = self._counts.get("phone", 0) + 1
        return self.replacements["phone"]

    def redact(self, text: str) -> str:
        if self.emails and "@" in text:
            text, n = EMAIL.subn(self.replacements["email"], text)
            if n:
                self._counts["email"] = self._counts.get("email", 0) + n
        if self.ip_addresses:
            if "." in text:
                text = IPV4.sub(lambda m: self._ip(m, "ipv4"), text)
            if "::" in text or text.count(":") >= 7:
                text = IPV6.sub(lambda m: self._ip(m, "ipv6"), text)
        if self.phone_numbers:
            text = PHONE.sub(self._phone, text)
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
