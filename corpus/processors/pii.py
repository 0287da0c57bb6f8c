"""Step `pii`: redact e-mail addresses, IP addresses and phone numbers."""

from __future__ import annotations

import ipaddress
import re

from datatrove.data import Document

from corpus.augment.protect import PATTERNS
from corpus.step import DocumentStep, map_text

EMAIL = re.compile(PATTERNS["email"])
# four dotted octets, not part of a longer dotted number (a version such as 1.2.3.4.5) or a word
IPV4 = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\w|\.\d)"
)
IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:|:){2,7}(?:[0-9A-Fa-f]{1,4}|:)(?![\w:])")
# international (+CC then 6-14 more digits in groups), North American (555) 010-4477 / 555-010-4477, and
# the short local 555-0143 form
PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"\+\d{1,3}(?:[ .\-]?\(\d{1,4}\))?(?:[ .\-]?\d{2,4}){2,4}"
    r"|\(\d{3}\)[ .\-]?\d{3}[ .\-]\d{4}"
    r"|\d{3}[.\-]\d{3}[.\-]\d{4}"
    r"|\d{3}-\d{4}"
    r")(?![\w\-]|[.,]\d)"
)


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

    def _ip(self, match: re.Match[str]) -> str:
        text = match.group()
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return text  # 10:30:00 and other colon runs that are no address
        if self.public_ips_only and not address.is_global:
            return text
        self._counts["ip"] = self._counts.get("ip", 0) + 1
        return self.replacements["ip"]

    def _sub(self, kind: str, pattern: re.Pattern[str], text: str) -> str:
        text, n = pattern.subn(self.replacements[kind], text)
        if n:
            self._counts[kind] = self._counts.get(kind, 0) + n
        return text

    def redact(self, text: str) -> str:
        if self.emails and "@" in text:
            text = self._sub("email", EMAIL, text)
        if self.ip_addresses:
            if "." in text:
                text = IPV4.sub(self._ip, text)
            if "::" in text or text.count(":") >= 7:
                text = IPV6.sub(self._ip, text)
        if self.phone_numbers:
            text = self._sub("phone", PHONE, text)
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
