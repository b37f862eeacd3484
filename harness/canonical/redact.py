"""PII redaction for logs and reports — the one implementation, used by the harness (console,
reports), the simulators (their logs) and the reference layer (its structlog JSON).

What is redacted: credentials (HTTP auth headers and credential fields: bearer tokens, API
keys, client secrets, passwords — a fuzz repro's curl command carries one), e-mail addresses,
phone numbers, card data (PANs — checked by issuer prefix and Luhn, so order numbers and epoch
milliseconds stay — and CVCs), and tax ids (EU VAT ids, US EINs, Japanese invoice registration
numbers, Canadian business numbers). Structured data is redacted by key as well (``email``,
``Phone``, ``VAT_Number__c``, ``TaxId``, ``cvc``, ``password``, ...), so a value of any shape
under such a key is caught. Free text is redacted by pattern; the phone pattern is deliberately
conservative (international ``+`` numbers, ``(0xx)`` area codes, ``555-123-4567``,
``03-1234-5678``) so dates, times, amounts and ids are left alone.

The systems of record (the simulators' vendor APIs) still return PII: this is for what the
harness and the layer *write* — logs, journals on disk, reports.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

EMAIL = "[email]"
PHONE = "[phone]"
CARD = "[card]"
CVC = "[cvc]"
TAX_ID = "[tax-id]"
REDACTED = "[redacted]"

_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# 13-19 digits, optionally grouped by single spaces or dashes
_PAN = re.compile(r"(?<![\w.])\d(?:[ -]?\d){12,18}(?![\w.])")
_PAN_PREFIX = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|3[0689]|6(?:011|5|4[4-9]|2)|35)")
_CVC = re.compile(r"(?i)(\b(?:cvc|cvv|cvc2|cvv2|securitycode|security_code|card\[cvc\])"
                  r"[\"']?\s*[:=]\s*[\"']?)(\d{3,4})\b")
_TAX = re.compile(
    r"\b(?:"
    r"ATU\d{8}|BE[01]\d{9}|BG\d{9,10}|CY\d{8}[A-Z]|CZ\d{8,10}|DE\d{9}|DK\d{8}|EE\d{9}"
    r"|EL\d{9}|ES[A-Z0-9]\d{7}[A-Z0-9]|FI\d{8}|FR[0-9A-HJ-NP-Z]{2}\d{9}|GB(?:\d{9}|\d{12})"
    r"|HR\d{11}|HU\d{8}|IE\d[A-Z0-9+*]\d{5}[A-Z]{1,2}|IT\d{11}|LT(?:\d{9}|\d{12})|LU\d{8}"
    r"|LV\d{11}|MT\d{8}|NL\d{9}B\d{2}|PL\d{10}|PT\d{9}|RO\d{2,10}|SE\d{12}|SI\d{8}|SK\d{10}"
    r"|CHE[-.]?\d{3}\.?\d{3}\.?\d{3}"  # Swiss UID
    r"|T\d{13}"  # Japan: qualified invoice issuer number
    r"|\d{9}RT\d{4}"  # Canada: business number + GST/HST account
    r"|\d{2}-\d{7}"  # US: EIN
    r")\b")
_PHONE = re.compile(
    r"(?<![\w+/.-])(?:"
    r"\+\d[\d ()./-]{6,}\d"  # +49 30 1234567, +1-555-123-4567, +33 (0)1 23 45 67 89
    r"|\(\d{2,5}\)[ .-]?\d[\d ./-]{3,}\d"  # (030) 1234567, (555) 123-4567
    r"|0\d{1,4}(?:[ ./-]\d{2,8}){1,4}"  # 030 1234 5678, 02124/15868344, 08-170 669 07
    r"|(?:1[ .-])?\d{3}[ .-]\d{3}[ .-]\d{4}"  # 555-123-4567, 1-555-123-4567, 291 417 7763
    r"|\d{2,3}-\d{3,4}-\d{4}"  # 75-6508-8995
    r"|0[1-9](?!\d*0000)\d{8,9}"  # 0232781286 (national; not a zero-padded id 0100000001)
    r")(?:\s?(?:x|ext\.?)\s?\d{1,6})?(?![\w/-])")


def _phone(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    return PHONE if 8 <= digits <= 18 else match.group(0)


# credentials in text: HTTP auth headers (a fuzz repro's curl command, a logged request)
_AUTH_HEADER = re.compile(
    r"(?i)(\b(?:authorization|proxy-authorization)[\"']?\s*[:=]\s*[\"']?"
    r"(?:bearer|basic|digest|token)\s+)[A-Za-z0-9._~+/=-]+")
_KEY_HEADER = re.compile(
    r"(?i)(\b(?:x-api-key|x-csrf-token|api[-_]key|client[-_]secret|access[-_]token)"
    r"[\"']?\s*[:=]\s*[\"']?)(?!Fetch\b)[A-Za-z0-9._~+/=!-]{6,}")

# keys whose value is personal data whatever its shape (compared case-insensitively, without
# separators: "VAT_Number__c" -> "vatnumberc")
_KEYS: dict[str, str] = {
    **dict.fromkeys(("email", "emailaddress", "mail", "shopperemail", "receiptemail",
                     "billingemail", "personemail"), EMAIL),
    **dict.fromkeys(("phone", "phonenumber", "telephone", "telephonenumber", "mobile",
                     "mobilephone", "homephone", "otherphone", "fax", "shopperphone",
                     "telephonenumber1"), PHONE),
    **dict.fromkeys(("cardnumber", "pan", "encryptedcardnumber"), CARD),
    **dict.fromkeys(("cvc", "cvv", "cvc2", "cvv2", "securitycode", "encryptedsecuritycode"),
                    CVC),
    **dict.fromkeys(("authorization", "proxyauthorization", "xapikey", "apikey", "clientsecret",
                     "accesstoken", "refreshtoken", "password", "hmackey", "securitytoken"),
                    REDACTED),
    **dict.fromkeys(("taxid", "vat", "vatid", "vatnumber", "vatnumberc", "vatregistration",
                     "taxnumber", "taxnumber1", "ein", "exemptionno", "taxidnumber",
                     "taxregistration", "taxids"), TAX_ID),
}


def _normalise_key(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _key_marker(key: Any) -> str | None:
    if not isinstance(key, str):
        return None
    return _KEYS.get(_normalise_key(key))


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _pan(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    if 13 <= len(digits) <= 19 and _PAN_PREFIX.match(digits) and _luhn(digits):
        return CARD
    return match.group(0)


def redact_text(text: str) -> str:
    """``text`` with every e-mail, phone, card number, CVC and tax id replaced by a marker."""
    if not text:
        return text
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _KEY_HEADER.sub(lambda m: m.group(1) + REDACTED, text)
    if "@" in text:
        text = _EMAIL.sub(EMAIL, text)
    if not any(ch.isdigit() for ch in text):
        return text
    text = _CVC.sub(lambda m: m.group(1) + CVC, text)
    text = _PAN.sub(_pan, text)
    text = _TAX.sub(TAX_ID, text)
    return _PHONE.sub(_phone, text)


def redact(value: Any, *, key: Any = None) -> Any:
    """A redacted copy of ``value`` (str, mapping, list/tuple; other values as they are);
    values under a personal-data key are replaced whole."""
    marker = _key_marker(key)
    if marker is not None and value not in (None, "", [], {}) and not isinstance(value, bool):
        if isinstance(value, Mapping | list | tuple):
            return redact(value)  # e.g. {"phone": {"number": ...}}: look inside
        return marker
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact(v, key=k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value) if isinstance(value, tuple) else \
            [redact(v) for v in value]
    return value


def structlog_processor(_logger: Any, _method: str,
                        event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: redact every field of the event (place it before the renderer,
    after ``format_exc_info`` so tracebacks are covered too)."""
    for name, value in list(event_dict.items()):
        event_dict[name] = redact(value, key=name)
    return event_dict


def redact_file(path: Path) -> bool:
    """Redact a text file written by another program (Locust's CSVs and log, the engines'
    captured output) in place; True when something was replaced. Binary files are left."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    redacted = redact_text(text)
    if redacted == text:
        return False
    path.write_text(redacted, encoding="utf-8")
    return True


def redact_xml(root: Any) -> Any:
    """Redact an ``xml.etree`` element tree in place (text, tails, attribute values): JUnit
    messages and captured output. Returns ``root``."""
    for element in root.iter():
        if element.text:
            element.text = redact_text(element.text)
        if element.tail:
            element.tail = redact_text(element.tail)
        for name, value in element.attrib.items():
            element.attrib[name] = redact_text(value)
    return root


class RedactingFilter(logging.Filter):
    """stdlib logging filter: the formatted message and any traceback, redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        record.msg, record.args = redact_text(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:  # formatters print the cached text, not exc_info again
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


def install_logging_filter(*names: str) -> None:
    """Add the redacting filter to the named stdlib loggers and to every handler of the root
    logger (idempotent)."""
    targets: list[logging.Filterer] = [logging.getLogger(n) for n in names]
    targets.extend(logging.getLogger().handlers)
    for target in targets:
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())


__all__ = ["CARD", "CVC", "EMAIL", "PHONE", "REDACTED", "TAX_ID", "RedactingFilter",
           "install_logging_filter", "redact", "redact_file", "redact_text", "redact_xml",
           "structlog_processor"]
