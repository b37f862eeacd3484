"""The o2c pytest plugin: its fixtures used directly, and its options/markers in a nested
pytest run."""

from __future__ import annotations

import httpx
import pytest

from harness.pytest_plugin import IntegrationApp
from harness.testing import MockLandscape

pytest_plugins = ["pytester"]


def test_admin_fixtures_reach_the_session_landscape(landscape, billing_admin: httpx.Client,  # type: ignore[no-untyped-def]
                                                    crm_admin: httpx.Client) -> None:
    assert set(landscape.urls) >= {"billing", "crm"}
    assert str(billing_admin.base_url).rstrip("/") == landscape.urls["billing"]
    assert billing_admin.get("/_sim/health").json()["status"] == "ok"
    assert crm_admin.get("/_sim/health").json()["status"] == "ok"


@pytest.mark.slow
def test_integration_app_is_wired_to_the_landscape(integration_app: IntegrationApp) -> None:
    with integration_app.client() as client:
        assert client.get("/health").status_code == 200


def test_mock_landscape_fixture(mock_landscape: MockLandscape) -> None:
    answer = httpx.get("https://api.stripe.com/v1/customers",
                       auth=("sk_test_o2c_harness", ""))
    assert answer.status_code == 200
    assert answer.json()["object"] == "list"


def test_options_and_markers_in_a_user_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user="""
        import pytest

        def test_options(o2c_seed, o2c_profile):
            assert o2c_seed == 3
            assert o2c_profile == "flaky"

        @pytest.mark.contract
        def test_contract():
            pass

        @pytest.mark.oracle
        def test_oracle():
            pass

        @pytest.mark.fuzz
        def test_fuzz():
            pass
    """)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--strict-markers",
                                          "--o2c-seed=3", "--o2c-profile=flaky",
                                          "-m", "not fuzz")
    result.assert_outcomes(passed=3, deselected=1)
