"""The business generator: deterministic, realistic, dirty on request (no simulators here)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from harness.business import BusinessOptions, Dirtiness, generate_business
from harness.business.command import build_options, parse_wave_plan
from harness.business.geography import POSTAL_RE, US_CITIES
from harness.business.records import catalog_batches, crm_batches, erp_batches, legacy_number
from harness.errors import ConfigError

VAT_FORMAT = {"DE": r"DE\d{9}", "FR": r"FR\d{11}", "GB": r"GB\d{9}", "US": r"\d{2}-\d{7}",
              "JP": r"T\d{13}"}


def _first_word(name: str) -> str:
    return re.sub(r"[^\w\s]", " ", name).split()[0].casefold()


def _business(**kw: object):  # type: ignore[no-untyped-def]
    return generate_business(BusinessOptions(**{"customers": 300, **kw}))  # type: ignore[arg-type]


def test_same_options_same_business_and_another_seed_another() -> None:
    a, b = _business(seed=7), _business(seed=7)
    assert [dataclasses.asdict(c) for c in a.customers] == \
        [dataclasses.asdict(c) for c in b.customers]
    other = _business(seed=8)
    assert [c.name for c in other.customers] != [c.name for c in a.customers]


def test_clean_business_is_realistic() -> None:
    business = _business(seed=3)
    countries = {c.country for c in business.customers}
    assert countries == {"US", "DE", "FR", "GB", "JP"}
    assert business.entities == ["DE01", "FR01", "GB01", "JP01", "US01"]
    us_zips = {(city, state, zip5) for city, state, zip5, _ in US_CITIES}
    for c in business.customers:
        assert c.clean and not c.defects
        assert re.fullmatch(VAT_FORMAT[c.country], c.vat_id), c.vat_id
        assert c.address.postal_code and POSTAL_RE[c.country].fullmatch(c.address.postal_code)
        if c.country == "US":
            assert (c.address.city, c.address.region, c.address.postal_code) in us_zips
        assert c.contacts and all("@" in p.email for p in c.contacts)
        assert c.created_at < business.seed_ts
        if c.won:
            assert c.billing_at is not None and c.won_at is not None
            assert c.won_at < c.billing_at < business.seed_ts
            assert c.subscription is not None and c.subscription.currency == {
                "US": "usd", "DE": "eur", "FR": "eur", "GB": "gbp", "JP": "jpy"}[c.country]
            assert any(o.stage == "Closed Won" for o in c.opportunities)
    stages = {o.stage for c in business.customers for o in c.opportunities}
    assert {"Closed Won", "Closed Lost", "Prospecting"} <= stages
    won = sum(c.won for c in business.customers)
    assert 0.4 < won / len(business.customers) < 0.7


def test_each_dirtiness_knob_does_what_it_says() -> None:
    business = _business(seed=5, customers=600, dirtiness=Dirtiness.uniform(0.25))
    by_number = business.by_number()
    seen: dict[str, int] = {}
    for c in business.customers:
        for d in c.defects:
            seen[d] = seen.get(d, 0) + 1
        if "near_duplicate" in c.defects:
            original = by_number[c.duplicate_of or ""]
            assert c.name != original.name
            assert c.address == original.address or "stale_address" in c.defects \
                or "missing_postal_code" in c.defects
            if "unicode_rtl" not in c.defects:  # same first word, up to case and punctuation
                assert _first_word(c.name) == _first_word(original.name)
        if "long_name" in c.defects and "unicode_rtl" not in c.defects:
            assert len(c.name) > 40
        if "unicode_rtl" in c.defects:
            assert not c.name.isascii()
        if "missing_postal_code" in c.defects:
            assert c.address.postal_code is None
        if "stale_address" in c.defects:
            assert c.erp_address != c.address
        if "missing_in_erp" in c.defects:
            assert c.erp_at is None and c.in_billing
        if "missing_in_billing" in c.defects:
            assert c.won and not c.in_billing and c.erp_at is None
        if "mismatched_currency" in c.defects:
            assert c.subscription is not None
            assert c.subscription.currency != {"US": "usd", "DE": "eur", "FR": "eur",
                                               "GB": "gbp", "JP": "jpy"}[c.country]
    assert set(seen) == {f.name for f in dataclasses.fields(Dirtiness)}
    # an RTL script (Arabic or Hebrew) appears, not just accents
    assert any(re.search(r"[\u0590-\u06ff]", c.name) for c in business.customers)


def test_one_knob_alone() -> None:
    business = _business(seed=5, dirtiness=Dirtiness().with_overrides({"long_name": 1.0}))
    assert all(c.defects == ("long_name",) for c in business.customers)


def test_wave_plan_routes_entities_by_date() -> None:
    plan = parse_wave_plan("DE01=legacy_erp,DE01=cloud_erp@2025-10-01,US01=legacy_erp")
    options = BusinessOptions(customers=400, wave_plan=plan, history_months=6)
    assert options.erp_of("DE01", dt.date(2025, 9, 30)) == "legacy_erp"
    assert options.erp_of("DE01", dt.date(2025, 10, 1)) == "cloud_erp"
    business = generate_business(options)
    batches = erp_batches(business)
    cloud_terms = {p["SearchTerm1"] for p in batches["cloud_erp"][0][1]}
    legacy = {c["CustomerNumber"] for c in batches["legacy_erp"][0][1]}
    germans = [c for c in business.customers if c.legal_entity == "DE01" and c.erp_at]
    cut = dt.datetime(2025, 10, 1, tzinfo=dt.UTC).timestamp()
    before = [c for c in germans if c.erp_at is not None and c.erp_at < cut]
    after = [c for c in germans if c.erp_at is not None and c.erp_at >= cut]
    assert before and after
    # onboarded before the wave: created in the legacy ERP, migrated to the cloud at the wave
    assert all(legacy_number(c) in legacy and c.number in cloud_terms for c in before)
    assert all(legacy_number(c) not in legacy and c.number in cloud_terms for c in after)


def test_records_are_in_the_vendors_shapes() -> None:
    business = _business(seed=11, dirtiness=Dirtiness.uniform(0.2))
    accounts, contacts, _ = (records for _, records in crm_batches(business))
    assert {a["External_Id__c"] for a in accounts} == {c.number for c in business.customers}
    assert all(c["Account"].keys() == {"External_Id__c"} for c in contacts)
    partners = erp_batches(business)["cloud_erp"][0][1]
    assert all(len(p["OrganizationBPName1"]) <= 40 for p in partners)
    assert any(p["OrganizationBPName2"] for p in partners)  # long names split, as SAP users do
    legacy = erp_batches(business)["legacy_erp"][0][1]
    assert all(len(c["Name"]) <= 35 and re.fullmatch(r"[A-Z0-9]{1,10}", c["CustomerNumber"])
               for c in legacy)
    prices = dict(catalog_batches(business))["prices"]
    jpy = [p for p in prices if p["currency"] == "jpy"]
    assert jpy and all(p["unit_amount"] < 200_000 for p in jpy)  # yen have no minor unit


def test_bad_options_are_user_errors() -> None:
    with pytest.raises(ValueError, match="unsupported locale"):
        generate_business(BusinessOptions(locales=("xx_XX",)))
    with pytest.raises(ConfigError):
        parse_wave_plan("DE01=sap")
    with pytest.raises(ConfigError):
        build_options(seed=1, customers=1, locales=["en_US"], dirtiness=0.1,
                      dirty=["nope=0.5"], seed_date=None, history_months=6, wave_plan=None)
    with pytest.raises(ValueError):
        Dirtiness(long_name=1.5)
