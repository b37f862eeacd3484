"""Adyen's fixed test-environment reference data: test cards, the documented table that turns
``holderName`` / ``RequestedTestAcquirerResponseCode`` into a result, currencies with their
minor-unit exponents, and the payment methods offered per country and currency.

Outcome rules (deterministic, as on Adyen's test platform):

1. ``paymentMethod.holderName`` equal to one of the names in :data:`TEST_RESPONSES`
   (``DECLINED``, ``CARD_EXPIRED``, ``ERROR``, ``PENDING``, ...) or
   ``additionalData.RequestedTestAcquirerResponseCode`` equal to its number selects that row:
   its ``resultCode``, ``refusalReason`` and ``refusalReasonCode``
   (docs.adyen.com/development-resources/testing/result-codes).
2. Otherwise a card in :data:`TEST_CARDS` with a future expiry date is ``Authorised``; an
   expiry in the past is ``Refused`` / ``Expired Card`` (6).
3. A Luhn-valid number that is not a test card is ``Refused`` / ``Refused`` (2), as the test
   platform does with real card numbers.
4. SEPA Direct Debit is ``Received`` at once and authorised asynchronously (AUTHORISATION
   webhook), an IBAN with a wrong checksum is a 422 (code 161).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulators._kit import is_digits

# number → brand (Adyen's published test cards; expiry 03/2030, CVC 737 / 7373 for Amex)
TEST_CARDS: dict[str, str] = {
    "4111111145551142": "visa",
    "4111111111111111": "visa",
    "4988438843884305": "visa",
    "4166676667666746": "visa",
    "5555341244441115": "mc",
    "5555555555554444": "mc",
    "2222400070000005": "mc",
    "5101180000000007": "mc",
    "370000000000002": "amex",
    "374251018720018": "amex",
    "3569990010095841": "jcb",
    "6011601160116611": "discover",
    "36006666333344": "diners",
}


@dataclass(frozen=True)
class TestResponse:
    code: int
    holder_name: str
    refusal_reason: str | None
    result_code: str


_ROWS = [
    (0, "UNKNOWN", "Unknown", "Error"),
    (1, "APPROVED", None, "Authorised"),
    (2, "DECLINED", "Refused", "Refused"),
    (3, "REFERRAL", "Referral", "Refused"),
    (4, "ERROR", "Acquirer Error", "Error"),
    (5, "BLOCK_CARD", "Blocked Card", "Refused"),
    (6, "CARD_EXPIRED", "Expired Card", "Refused"),
    (7, "INVALID_AMOUNT", "Invalid Amount", "Refused"),
    (8, "INVALID_CARD_NUMBER", "Invalid Card Number", "Refused"),
    (9, "ISSUER_UNAVAILABLE", "Issuer Unavailable", "Refused"),
    (10, "NOT_SUPPORTED", "Not supported", "Refused"),
    (11, "NOT_3D_AUTHENTICATED", "3D Not Authenticated", "Refused"),
    (12, "NOT_ENOUGH_BALANCE", "Not enough balance", "Refused"),
    (13, "PENDING", None, "Received"),
    (14, "ACQUIRER_FRAUD", "Acquirer Fraud", "Refused"),
    (15, "CANCELLED", "Cancelled", "Refused"),
    (16, "SHOPPER_CANCELLED", "Shopper Cancelled", "Refused"),
    (17, "INVALID_PIN", "Invalid Pin", "Refused"),
    (18, "PIN_TRIES_EXCEEDED", "Pin tries exceeded", "Refused"),
    (19, "PIN_VALIDATION_NOT_POSSIBLE", "Pin validation not possible", "Refused"),
    (20, "FRAUD", "FRAUD", "Refused"),
    (21, "NOT_SUBMITTED", "Not Submitted", "Refused"),
    (22, "FRAUD_CANCELLED", "FRAUD-CANCELLED", "Cancelled"),
    (23, "TRANSACTION_NOT_PERMITTED", "Transaction Not Permitted", "Refused"),
    (24, "CVC_DECLINED", "CVC Declined", "Refused"),
    (25, "RESTRICTED_CARD", "Restricted Card", "Refused"),
    (26, "REVOCATION_OF_AUTH", "Revocation Of Auth", "Refused"),
    (27, "DECLINED_NON_GENERIC", "Declined Non Generic", "Refused"),
    (28, "WITHDRAWAL_AMOUNT_EXCEEDED", "Withdrawal amount exceeded", "Refused"),
    (29, "WITHDRAWAL_COUNT_EXCEEDED", "Withdrawal count exceeded", "Refused"),
    (31, "ISSUER_SUSPECTED_FRAUD", "Issuer Suspected Fraud", "Refused"),
    (32, "AVS_DECLINED", "AVS Declined", "Refused"),
]
TEST_RESPONSES: dict[str, TestResponse] = {
    row[1]: TestResponse(*row) for row in _ROWS
}
TEST_RESPONSE_CODES: dict[int, TestResponse] = {row[0]: TestResponse(*row) for row in _ROWS}

# ISO 4217 currencies Adyen processes, with the exponent of their minor unit
CURRENCY_EXPONENT: dict[str, int] = {
    "EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2,
    "CAD": 2, "AUD": 2, "NZD": 2, "SGD": 2, "HKD": 2, "MXN": 2, "BRL": 2, "CNY": 2, "INR": 2,
    "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "IDR": 0,
    "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3,
}
SEPA_COUNTRIES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
    "CH", "GB", "MC", "SM", "AD", "VA",
})
# IBAN length per country (the ones SEPA Direct Debit sees most)
IBAN_LENGTH: dict[str, int] = {
    "AT": 20, "BE": 16, "CH": 21, "DE": 22, "DK": 18, "ES": 24, "FI": 18, "FR": 27, "GB": 22,
    "IE": 22, "IT": 27, "LU": 20, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "SE": 24,
}


def luhn_ok(number: str) -> bool:
    if not is_digits(number) or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_brand(number: str) -> str:
    """Brand (Adyen's variant names) of a card number by its issuer prefix."""
    if number in TEST_CARDS:
        return TEST_CARDS[number]
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"34", "37"}:
        return "amex"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "mc"
    if number.startswith("35"):
        return "jcb"
    if number.startswith(("6011", "65")):
        return "discover"
    if number[:2] in {"30", "36", "38"}:
        return "diners"
    return "card"


def iban_ok(iban: str) -> bool:
    """ISO 13616 check: country, length where known, and the mod-97 checksum."""
    iban = iban.replace(" ", "").upper()
    if len(iban) < 15 or len(iban) > 34 or not iban[:2].isalpha() or not is_digits(iban[2:4]):
        return False
    if not (iban.isascii() and iban.isalnum()):
        return False
    expected = IBAN_LENGTH.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def payment_methods(country: str | None, currency: str | None) -> list[dict[str, object]]:
    """What ``/paymentMethods`` offers for a shopper country and transaction currency."""
    methods: list[dict[str, object]] = []
    brands = ["visa", "mc", "amex"]
    if country == "JP" or currency == "JPY":
        brands.append("jcb")
    if country in (None, "US") and currency in (None, "USD"):
        brands += ["discover", "diners"]
    methods.append({"name": "Cards", "type": "scheme", "brands": brands})
    euro = currency in (None, "EUR")
    if euro and (country is None or country in SEPA_COUNTRIES):
        methods.append({"name": "SEPA Direct Debit", "type": "sepadirectdebit"})
    if euro and country == "NL":
        methods.append({"name": "iDEAL", "type": "ideal"})
    return methods
