"""Bodies the API cannot read answer in its error format: 400 unreadable, 413 too large; never 500 or HTML."""

import json

import pytest
from django.core.exceptions import RequestDataTooBig
from django.test import Client, RequestFactory

from core.api import bad_request
from core.parsers import MAX_JSON_DEPTH

pytestmark = pytest.mark.django_db

DEEP = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


def _error(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body["reasons"] == [body["detail"]] and body["detail"]
    return body["detail"]


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, "[" * 100_000], ids=["array", "object", "unclosed"])
def test_json_nested_a_thousand_levels_deep_is_a_400_at_the_token_endpoint_without_logging_in(body):
    client = Client(raise_request_exception=False)
    response = client.post("/api/auth/token/", body, content_type="application/json")
    assert response.status_code == 400
    if body != "[" * 100_000:
        assert "zu tief verschachtelt" in _error(response, 400)


def test_json_nested_deeply_is_a_400_at_the_application_endpoints(case, people, api):
    application = case("submitted")
    for client, method, path in [
        (api(people.caseworker), "post", f"/api/applications/{application.pk}/return-to-applicant/"),
        (api(people.owner), "patch", f"/api/applications/{application.pk}/"),
        (api(people.owner), "post", "/api/applications/"),
    ]:
        response = getattr(client, method)(path, DEEP_OBJECT, content_type="application/json")
        assert "zu tief verschachtelt" in _error(response, 400), path
    application.refresh_from_db()
    assert application.state == "submitted"


def test_the_depth_allowed_is_more_than_any_body_needs_and_one_more_is_refused(case, people, api):
    application = case("submitted")
    client = api(people.caseworker)
    path = f"/api/applications/{application.pk}/return-to-applicant/"
    within = (
        '{"comment": "Bitte Angebote nachreichen.", "x": '
        + "[" * (MAX_JSON_DEPTH - 1)
        + "]" * (MAX_JSON_DEPTH - 1)
        + "}"
    )
    assert client.post(path, within, content_type="application/json").status_code == 200
    beyond = '{"comment": "x", "x": ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}"
    _error(client.post(path, beyond, content_type="application/json"), 400)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("{bad", "kein gültiges JSON (Zeile 1, Spalte 2)"),
        (b"\xff\xfe", "nicht in utf-8 kodiert"),
        ("NaN", "NaN"),
        ('{"username": Infinity}', "NaN"),
        ("1" * 5000, "zu lange Zahl"),
    ],
    ids=["syntax", "encoding", "nan", "infinity", "long-number"],
)
def test_every_unreadable_json_body_is_a_400_in_german(body, words):
    response = Client().post("/api/auth/token/", body, content_type="application/json")
    assert words in _error(response, 400)


def test_an_unreadable_multipart_body_is_a_400():
    response = Client().post("/api/auth/token/", "x", content_type="multipart/form-data")
    assert "multipart/form-data" in _error(response, 400)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"username": "' + "a" * 3_000_000 + '"}', "application/json"),
        ("username=" + "a" * 3_000_000, "application/x-www-form-urlencoded"),
    ],
    ids=["json", "form"],
)
def test_a_body_over_the_upload_limit_is_a_413_in_json(body, content_type, case, people, api):
    response = Client(raise_request_exception=False).post("/api/auth/token/", body, content_type=content_type)
    assert "höchstens 2,5 MB" in _error(response, 413)

    application = case("submitted")
    path = f"/api/applications/{application.pk}/reject/"
    response = api(people.caseworker).post(path, body, content_type=content_type)
    _error(response, 413)


def test_too_many_fields_are_a_413_in_json():
    body = "&".join(f"f{i}=1" for i in range(2000))
    response = Client().post("/api/auth/token/", body, content_type="application/x-www-form-urlencoded")
    assert "zu viele Felder" in _error(response, 413)


def test_a_refusal_of_django_outside_the_api_views_is_json_under_api_and_the_page_elsewhere():
    request = RequestFactory().post("/api/applications/")
    _error(bad_request(request, RequestDataTooBig("too big")), 413)
    _error(bad_request(request, ValueError("other")), 400)
    page = bad_request(RequestFactory().post("/portal/"), RequestDataTooBig("too big"))
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")
