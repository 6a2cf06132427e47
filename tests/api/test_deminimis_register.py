"""The de-minimis register through the API: fields, period filters, who may read it, its queries."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories import make_deminimis_grant

API_URL = "/api/deminimis-register/"


def test_the_api_lists_the_entries_with_period_filters(api, people, deminimis_grants):
    client = api(people.caseworker)
    body = client.get(API_URL, {"granted_from": "2026-06-01"}).json()
    assert [entry["file_number"] for entry in body["results"]] == ["SF-2026-0002"]
    entry = client.get(f"{API_URL}{deminimis_grants['first'].pk}/").json()
    assert entry == {
        "id": deminimis_grants["first"].pk,
        "file_number": "SF-2026-0001",
        "recipient": "Glas & Co. GmbH",
        "tax_number": "DE123456789",
        "register_number": "HRB 1234 Amtsgericht Köln",
        "amount": "7200.00",
        "granted_on": "2026-03-02",
        "granting_authority": "Stadt Musterstadt – Amt für Stadtentwicklung",
        "aid_instrument": "Zuschuss",
        "sector": "47.11",
        "regulation": "general",
        "corrected_on": None,
    }


def test_the_api_refuses_owners_and_hides_other_towns(api, people, deminimis_grants):
    assert api(people.owner).get(API_URL).status_code == 403
    assert api().get(API_URL).status_code == 401
    foreign = api(people.foreign_caseworker)
    assert foreign.get(API_URL).json()["results"] == []
    assert foreign.get(f"{API_URL}{deminimis_grants['first'].pk}/").status_code == 404


@pytest.mark.parametrize("rows", [3, 30])
def test_the_register_list_costs_the_same_queries_at_any_length(
    api,
    people,
    deminimis_grants,
    programme,
    rows,
    django_assert_num_queries,
):
    for number in range(rows):
        make_deminimis_grant(
            programme, people.bob, on=date(2025, 1, 1) + timedelta(days=number), amount="100.00", number=100 + number
        )
    client = api(people.auditor)
    # token and user (1), roles (1), municipalities (1), count (1), rows with applicant, programme, municipality
    # and the correction's day (1)
    with django_assert_num_queries(5):
        response = client.get(API_URL, {"page_size": 500})
    assert len(response.json()["results"]) == rows + 2
