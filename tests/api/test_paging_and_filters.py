"""Paging parameters and filters are taken strictly: what is not one valid value is a 400, never ignored."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "query",
    [
        "page_size=null",
        "page_size=0",
        "page_size=501",
        "page_size=-1",
        "page_size=1.5",
        "page_size=",
        "page_size=1&page_size=2",
        "page=0",
        "page=null",
        "page=last",
        "page=1&page=2",
        "programme=0",
        "programme=",
        "programme=1&programme=2",
        "state=",
        "state=draft&state=submitted",
        "ordering=id&ordering=-id",
    ],
)
def test_an_invalid_page_size_page_or_filter_is_a_400_in_the_error_format(query, people, api):
    response = api(people.caseworker).get(f"/api/applications/?{query}")
    assert response.status_code == 400, (query, response.json())
    body = response.json()
    name = query.split("=")[0]
    assert set(body["fields"]) == {name} and body["reasons"][0].startswith(f"{name}: ")


def test_valid_paging_still_pages_and_a_page_beyond_the_last_is_a_404(case, people, api):
    for _ in range(3):
        case("submitted")
    client = api(people.caseworker)
    data = client.get("/api/applications/?page_size=2&page=2").json()
    assert data["count"] == 3 and len(data["results"]) == 1
    assert client.get("/api/applications/?page_size=500").status_code == 200
    assert client.get("/api/applications/?page=3&page_size=2").status_code == 404
    assert client.get("/api/applications/?page=" + "9" * 40).status_code == 404
    # A text filter may be empty: it filters nothing out.
    assert client.get("/api/applications/?file_number=").json()["count"] == 3


def test_the_schema_states_the_paging_limits_and_ids_from_1(client):
    schema = client.get("/api/schema/?format=json").json()
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/applications/"]["get"]["parameters"]}
    assert parameters["page"] == {"type": "integer", "minimum": 1}
    assert parameters["page_size"] == {"type": "integer", "minimum": 1, "maximum": 500}
    assert parameters["programme"]["minimum"] == 1
    request = schema["components"]["schemas"]
    assert request["TransitionWithReasonRequest"]["required"] == ["comment"]
    assert request["CertifyInvoicesRequest"]["properties"]["invoices"]["minItems"] == 1
    assert request["StatementRequestRequest"]["oneOf"] == [{"required": ["programme"]}, {"required": ["municipality"]}]
    reject = schema["paths"]["/api/applications/{id}/reject/"]["post"]["requestBody"]
    assert reject["required"] is True
