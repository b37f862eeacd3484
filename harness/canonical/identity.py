"""Identity rules: when two customer records from different systems are the same customer.

The CRM account id is the anchor: two records that both carry one are the same customer if
and only if the ids are equal. Without an anchor on both sides, records match on the
normalised legal name + country + normalised tax id (a missing tax id on one side does not
block a match; two different tax ids always do).
"""

from __future__ import annotations

import re
import unicodedata

from pydantic import BaseModel, ConfigDict

# legal-form suffixes dropped before comparing names (lower case, no dots)
LEGAL_FORMS = frozenset({
    "inc", "incorporated", "llc", "ltd", "limited", "plc", "corp", "corporation", "co",
    "company", "gmbh", "ag", "kg", "ohg", "ug", "mbh", "sa", "sas", "sarl", "sasu", "eurl",
    "bv", "nv", "spa", "srl", "kk", "gk", "ab", "oy", "as", "aps", "pty", "llp", "lp",
    "gmbh & co kg", "& co", "cie", "kabushiki kaisha",
})
_PUNCT = re.compile(r"[^\w\s&]", re.UNICODE)
_SPACE = re.compile(r"\s+")
_TAX_ID = re.compile(r"[^0-9A-Z]")


def normalise_name(name: str) -> str:
    """Case-folded, accent-free, punctuation-free legal name without its legal form.

    ``"Müller GmbH."`` and ``"MUELLER gmbh"`` differ (ü is not ue); ``"Müller GmbH"`` and
    ``"muller"`` are equal.
    """
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _PUNCT.sub(" ", text.casefold().replace(".", ""))
    words = _SPACE.sub(" ", text).strip().split(" ")
    while len(words) > 1 and words[-1] in LEGAL_FORMS:
        words.pop()
    while len(words) > 2 and " ".join(words[-2:]) in LEGAL_FORMS:
        words = words[:-2]
    return " ".join(w for w in words if w)


def normalise_tax_id(tax_id: str | None, country: str | None = None) -> str | None:
    """Upper-case alphanumerics; a VAT id's country prefix is kept (added when missing for EU
    numbers given without it is *not* guessed)."""
    if not tax_id:
        return None
    cleaned = _TAX_ID.sub("", tax_id.upper())
    return cleaned or None


class IdentityKey(BaseModel):
    """What identifies a customer across systems."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")
    crm_account_id: str | None
    name: str
    country: str
    tax_id: str | None

    @classmethod
    def of(cls, *, name: str, country: str, tax_id: str | None = None,
           crm_account_id: str | None = None) -> IdentityKey:
        return cls(crm_account_id=crm_account_id or None, name=normalise_name(name),
                   country=country.upper(), tax_id=normalise_tax_id(tax_id, country))

    @property
    def match_key(self) -> str:
        """Stable string of name + country (+ tax id when known), for lookups."""
        return f"{self.country}|{self.name}|{self.tax_id or ''}"


def same_customer(a: IdentityKey, b: IdentityKey) -> bool:
    """The identity rule (see the module docstring)."""
    if a.crm_account_id and b.crm_account_id:
        return a.crm_account_id == b.crm_account_id
    if a.country != b.country or a.name != b.name:
        return False
    return a.tax_id is None or b.tax_id is None or a.tax_id == b.tax_id
