"""Date-times the API takes: RFC 3339 with an offset, as the OpenAPI's ``format: date-time``
says — not a number of seconds and not a local time (pydantic alone accepts both)."""

from __future__ import annotations

import re

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def rfc3339(value: object) -> object:
    """A ``BeforeValidator``: refuse anything but an RFC 3339 date-time with offset."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("expected an RFC 3339 date-time with offset, e.g. 2027-01-01T00:00:00Z")
    return value
