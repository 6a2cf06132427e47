"""The Content-Security-Policy in a real Chromium: the pages work under it and the browser refuses nothing.

Every browser test checks the console for CSP reports through ``assert_accessible``; these tests add the
pages with scripts of their own (Swagger UI, the admin; htmx is in the portal's test) and prove that the
watch itself sees a violation.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import CSP_VIOLATIONS, PASSWORD, assert_no_csp_violation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_browser_refuses_inline_code_and_the_watch_reports_it(login, programme):
    page = login.new_page()
    page.goto("/")
    assert_no_csp_violation(page)
    page.evaluate(
        """() => {
            const button = document.createElement("div");
            button.innerHTML = '<img src="/static/foerderdesk/site.css" onerror="window.ran = true">';
            document.body.append(button);
        }"""
    )
    page.wait_for_timeout(300)
    assert page.evaluate("window.ran") is None  # the inline handler never ran
    assert any("inline event handler" in text for text in CSP_VIOLATIONS[id(page)])


def test_portal_home_and_workspace_start_log_no_csp_violation(login, people, programme, case):
    case("submitted")
    page = login.new_page()
    page.goto("/")
    expect(page.get_by_role("heading", name="Fassadenprogramm Altstadt").first).to_be_visible()
    assert_no_csp_violation(page)

    page = login(people.caseworker)
    expect(page.get_by_role("heading", name="Arbeitsplatz").first).to_be_visible()
    assert_no_csp_violation(page)


def test_swagger_ui_renders_under_the_policy(login):
    page = login.new_page()
    page.goto("/api/docs/")
    page.get_by_text("Förderdesk API").first.wait_for()
    assert page.locator(".opblock").count() > 10  # the operations are listed
    assert_no_csp_violation(page)


def test_the_admin_works_under_the_policy(login, admin_user):
    admin_user.set_password(PASSWORD)  # the admin is entered through the site's login and the second factor
    admin_user.save()
    page = login(admin_user, next="/admin/")
    page.get_by_role("link", name="Anträge").first.click()
    page.get_by_role("link", name="Hinzufügen").first.click()
    page.wait_for_load_state("load")
    assert_no_csp_violation(page)
