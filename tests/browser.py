"""Real headless Chromium (Debian's) through Playwright, and axe-core, shared by the browser tests.

Registered as a pytest plugin in tests/conftest.py, so every test module can use the ``browser``
and ``login`` fixtures, ``assert_accessible`` and ``assert_no_csp_violation``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings

from applicants.rules import needs_second_factor

from .second_factor import fresh_code

CHROMIUM = "/usr/bin/chromium"
# Without these flags Chromium stalls reaching for the network this machine does not have.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "geheim-genug-123"  # tests.factories.UserFactory


@pytest.fixture(scope="module")
def browser():
    """Chromium for this module; meanwhile Playwright's event loop runs in the test thread."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is missing: make install-test installs it (apt-get install chromium)"
    assert AXE.exists(), "axe-core is missing: make install runs npm ci"
    # Django refuses database calls from a thread with a running event loop; the live server and the
    # sync API share that thread, so it is allowed here, and only for as long as the browser runs.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def login(browser, live_server):
    """A fresh browser page logged in as ``user`` through the login form."""
    contexts = []

    def log_in(user, *, next="/arbeitsplatz/"):
        page = new_page()
        page.goto(f"/konto/anmelden/?next={next}")
        page.get_by_label("Benutzername").fill(user.username)
        page.get_by_label("Passwort").fill(PASSWORD)
        # Staff then type the code their authenticator app shows (tests.second_factor gives them one).
        code = fresh_code(user) if needs_second_factor(user) else None
        page.get_by_role("button", name="Anmelden").click()
        if code is not None:
            page.wait_for_url("**/konto/zweiter-faktor/?**")
            page.get_by_label("Sechsstelliger Code").fill(code)
            page.get_by_role("button", name="Bestätigen").click()
        page.wait_for_url(f"**{next}")
        return page

    def new_page():
        # No bypass_csp: the pages run under the same Content-Security-Policy as in production.
        context = browser.new_context(base_url=live_server.url, locale="de-DE")
        contexts.append(context)
        return watch_csp(context.new_page())

    log_in.new_page = new_page

    yield log_in
    for context in contexts:
        context.close()


CSP_VIOLATIONS: dict[int, list[str]] = {}


def watch_csp(page):
    """Record every Content-Security-Policy violation Chromium reports on the page's console."""
    seen = CSP_VIOLATIONS.setdefault(id(page), [])
    page.on("console", lambda message: seen.append(message.text) if "Content Security Policy" in message.text else None)
    return page


def assert_no_csp_violation(page):
    """The browser refused nothing on this page so far: no inline script, style or handler, nothing foreign."""
    violations = CSP_VIOLATIONS.get(id(page), [])
    assert violations == [], f"{page.url}: {json.dumps(violations, ensure_ascii=False, indent=1)}"


def assert_accessible(page):
    """No WCAG 2.1 A/AA violation that axe-core can find on the page as it is now, and no CSP violation.

    axe-core is evaluated through the DevTools protocol rather than added as a <script>: the page's CSP
    refuses inline scripts (rightly), and the protocol's evaluation is not subject to it.
    """
    assert_no_csp_violation(page)
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("axe.run({runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})")
    violations = [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]} for v in result["violations"]
    ]
    assert violations == [], f"{page.url}: {json.dumps(violations, ensure_ascii=False, indent=1)}"
