"""Personas, so that every test reads as an access story."""

from __future__ import annotations

import os
from datetime import date
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.utils import translation

from .factories import (
    AllocationFactory,
    ApplicantFactory,
    MunicipalityFactory,
    ProgrammeFactory,
    PropertyFactory,
    UserFactory,
    advance,
    make_application,
    make_deminimis_grant,
)

# tests.second_factor: force_login gives staff a verified second factor (the rule's own tests log in for real).
pytest_plugins = ["tests.second_factor", "tests.browser"]

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_collection_modifyitems(config, items):
    marked = [item for item in items if item.get_closest_marker("postgres")]
    if ON_POSTGRESQL or not marked:
        return
    if os.environ.get("FOERDERDESK_REQUIRE_POSTGRES") == "1":
        raise pytest.UsageError("FOERDERDESK_REQUIRE_POSTGRES=1, but DATABASE_URL does not point to PostgreSQL.")
    for item in marked:
        item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: runs in the second pass of make test"))


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Real hashing costs a third of a second per user; the personas need none of it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Every test starts in German, the service's language, whatever an earlier test's request left active.
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def musterstadt(db):
    return MunicipalityFactory()


@pytest.fixture
def programme(musterstadt):
    return ProgrammeFactory(municipality=musterstadt)


@pytest.fixture
def allocation(programme):
    return AllocationFactory(programme=programme)


def _staff(role, municipality, **kwargs):
    return UserFactory(roles=[role], municipalities=[municipality], **kwargs)


@pytest.fixture
def people(musterstadt):
    """Alice owns a property, Bob is another owner; staff of Musterstadt; Olga works for Nachbarstadt."""
    nachbarstadt = MunicipalityFactory(name="Nachbarstadt")
    alice = ApplicantFactory(name="Alice Amsel", user__username="alice")
    bob = ApplicantFactory(name="Bob Brandt", user__username="bob")
    return SimpleNamespace(
        alice=alice,
        owner=alice.user,
        bob=bob,
        other_owner=bob.user,
        caseworker=_staff("caseworker", musterstadt, username="carla"),
        approver=_staff("approver", musterstadt, username="anton"),
        finance=_staff("finance", musterstadt, username="fiona"),
        auditor=_staff("auditor", musterstadt, username="udo"),
        foreign_caseworker=_staff("caseworker", nachbarstadt, username="olga"),
        foreign_approver=_staff("approver", nachbarstadt, username="otto"),
    )


@pytest.fixture
def case(programme, allocation, people):
    """Make Alice's application and walk it to a state: ``case("checked")``."""

    def make(state="submitted", **kwargs):
        application = make_application(programme=programme, applicant=people.alice, **kwargs)
        return advance(application, state, people)

    return make


@pytest.fixture
def another_property():
    return PropertyFactory(house_number="14")


@pytest.fixture
def deminimis_grants(programme, people):
    programme.deminimis_regulation = "general"
    programme.save()
    shop = ApplicantFactory(
        kind="organisation", name="Gerda Glas", organisation="Glas & Co. GmbH", tax_number="DE123456789",
        register_number="HRB 1234", register_court="Amtsgericht Köln", nace_code="47.11", user=people.owner,
    )  # fmt: skip
    first = make_deminimis_grant(programme, shop, on=date(2026, 3, 2), amount="7200.00", number=1)
    second = make_deminimis_grant(programme, people.bob, on=date(2026, 6, 30), amount="1500.50", number=2)
    return {"shop": shop, "first": first, "second": second}
