"""Content-Security-Policy: every page sends a strict policy, and the pages keep to it.

The policy allows scripts and styles only as files from our own origin, so a page must carry no inline
<script>, no <style> element, no on…= event handler and no style= attribute: the browser would refuse
them (tests/*/test_browser.py watch the real browser's console for that).
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


class InlineCode(HTMLParser):
    """Collects what a strict CSP would block: inline scripts and styles, event handlers, style attributes."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._inline_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self._inline_script = True
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_data(self, data):
        if self._inline_script and data.strip():
            self.found.append(f"inline <script>: {data.strip()[:60]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._inline_script = False


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def directives(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    parts = [part.split() for part in header.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


def test_the_inline_code_finder_finds_what_the_policy_forbids():
    html = (
        '<script>alert(1)</script><script src="/static/x.js"></script><button onclick="go()">x</button>'
        '<span style="color: red">x</span><style>p {}</style><a href="javascript:void(0)">x</a>'
    )
    assert len(inline_code(html)) == 5
    assert inline_code('<script src="/static/x.js" defer></script><p class="a">on=1</p>') == []


def test_the_policy_allows_only_our_own_files():
    from django.test import Client

    response = Client().get(reverse("home"))
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.fixture
def pages(people, case, allocation, programme):
    """The main pages, each with the persona who sees it."""
    application = case("submitted")
    draft = case("draft")
    return [
        (None, reverse("home")),
        (None, reverse("login")),
        (None, reverse("signup")),
        (None, reverse("account_reset_password")),
        (None, reverse("api-docs")),
        (people.owner, reverse("portal:applications")),
        (people.owner, reverse("portal:application", args=[application.pk])),
        (people.owner, reverse("portal:new", args=[programme.pk])),
        (people.owner, reverse("portal:step_measures", args=[draft.pk])),
        (people.owner, reverse("portal:step_documents", args=[draft.pk])),
        (people.caseworker, reverse("workspace:start")),
        (people.caseworker, reverse("workspace:applications")),
        (people.caseworker, reverse("workspace:application", args=[application.pk])),
        (people.caseworker, reverse("workspace:budgets")),
        (people.caseworker, reverse("workspace:allocation", args=[allocation.pk])),
        (people.caseworker, reverse("workspace:consultations")),
        (people.caseworker, reverse("workspace:statement_new")),
        (people.caseworker, reverse("workspace:import")),
    ]


def test_every_main_page_sends_the_policy_and_keeps_to_it(client, pages):
    for user, url in pages:
        client.logout()
        if user is not None:
            client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, url
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"], url
        assert directives(response)["script-src"] == ["'self'"], url
        assert inline_code(response.content.decode()) == [], url


def test_the_admin_keeps_to_the_policy(admin_client, case):
    application = case("submitted")
    for url in [
        reverse("admin:index"),
        reverse("admin:grants_grantapplication_changelist"),
        reverse("admin:grants_grantapplication_change", args=[application.pk]),
    ]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert "Content-Security-Policy" in response.headers, url
        assert inline_code(response.content.decode()) == [], url


def test_swagger_ui_loads_its_start_script_as_a_file(client):
    page = client.get(reverse("api-docs"))
    html = page.content.decode()
    assert inline_code(html) == []
    assert 'src="/api/docs/?script="' in html
    script = client.get(reverse("api-docs") + "?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode() and "/api/schema/" in script.content.decode()
