"""Änderungsprotokoll: every change with who and when, read by staff of the same municipality only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from applicants.models import User

from ..factories import MunicipalityFactory, UserFactory

pytestmark = pytest.mark.django_db
AUDIT = reverse("workspace:audit")


def named(user, first, last):
    User.objects.filter(pk=user.pk).update(first_name=first, last_name=last)
    return User.objects.get(pk=user.pk)


def test_a_caseworkers_check_appears_with_their_name_and_the_changed_fields(client, case, people):
    application = case("submitted")
    named(people.caseworker, "Carla", "Kern")
    client.force_login(people.caseworker)
    client.post(reverse("workspace:step", args=[application.pk, "check"]), {"comment": "vollständig"})

    client.force_login(people.auditor)
    page = client.get(AUDIT).content.decode()

    assert application.file_number in page
    assert "Carla Kern" in page
    assert "<strong>Status</strong>: eingereicht → geprüft" in page
    assert "<strong>geprüft am</strong>: – →" in page
    # The case page links to its own protocol, which shows the same change.
    own = client.get(AUDIT + f"?art=antraege&antrag={application.pk}").content.decode()
    assert "Carla Kern" in own and "eingereicht → geprüft" in own


def test_an_auditor_of_another_municipality_sees_nothing_of_it(client, case, people):
    application = case("submitted")
    client.force_login(people.caseworker)
    client.post(reverse("workspace:step", args=[application.pk, "check"]), {"comment": ""})
    foreign_auditor = UserFactory(
        username="ute", roles=["auditor"], municipalities=[MunicipalityFactory(name="Nachbarstadt")]
    )

    client.force_login(foreign_auditor)
    for kind in ("antraege", "programme", "mittel", "rollen", "kommunen"):
        page = client.get(AUDIT + f"?art={kind}&antrag={application.pk}").content.decode()
        assert application.file_number not in page, kind
        assert "carla" not in page and "udo" not in page and "Fassadenprogramm" not in page, kind


def test_role_and_allocation_changes_are_recorded_with_who_changed_them(client, people, allocation):
    admin = named(people.approver, "Anna", "Admin")
    finance = people.finance
    finance._history_user = admin
    finance.groups.add(Group.objects.get_or_create(name="auditor")[0])
    allocation._history_user = admin
    allocation.amount = Decimal("120000.00")
    allocation.save()

    client.force_login(people.auditor)
    roles = client.get(AUDIT + "?art=rollen").content.decode()
    assert "Anna Admin" in roles and "Kasse/Finanzen → Kasse/Finanzen, Prüfung (nur lesen)" in roles
    budgets = client.get(AUDIT + "?art=mittel").content.decode()
    assert "Anna Admin" in budgets and "100.000,00 → 120.000,00" in budgets


def test_the_workspace_navigation_links_the_protocol(client, people):
    client.force_login(people.auditor)
    assert f'href="{AUDIT}"' in client.get(reverse("workspace:start")).content.decode()


@pytest.mark.parametrize("changes", [10, 50])
def test_the_protocol_needs_the_same_queries_for_10_and_50_changes(
    client, people, programme, changes, django_assert_num_queries
):
    for number in range(changes):
        programme._history_user = people.caseworker
        programme.description = f"Fassung {number}"
        programme.save()
    client.force_login(people.auditor)
    with django_assert_num_queries(8):
        # 1 session, 2 user, 3 the user's TOTP device (second factor), 4 the user's groups (roles),
        # 5 the user's municipalities, then the count for the pagination,
        # the page of history rows with who changed them and the id of the row before each,
        # and the rows before them (to show what changed)
        response = client.get(AUDIT + "?art=programme")
    assert "Fassung 0 → Fassung 1" in response.content.decode() or changes > 25
    # the programme created, its version 1 made current, then the changes
    assert f"{changes + 2} Änderungen" in response.content.decode()


@pytest.mark.parametrize("changes", [10, 50])
def test_the_roles_protocol_needs_the_same_queries_for_10_and_50_changes(
    client, people, changes, django_assert_num_queries
):
    roles = [Group.objects.get_or_create(name=name)[0] for name in ("approver", "finance")]
    for number in range(changes):
        people.caseworker.groups.add(roles[number % 2])
        people.caseworker.groups.remove(roles[(number + 1) % 2])
    client.force_login(people.auditor)
    with django_assert_num_queries(10):
        # 1 session, 2 user, 3 TOTP device, 4 groups, 5 municipalities, 6 count (accounts of the user's towns'
        # staff), 7 the page of history rows with who changed them, 8 the rows before them,
        # 9 the roles each of them held, 10 the role names
        response = client.get(AUDIT + "?art=rollen")
    assert response.status_code == 200


def test_roles_and_towns_changed_from_the_other_side_are_recorded_too(people, musterstadt):
    auditors = Group.objects.get_or_create(name="auditor")[0]
    auditors.user_set.add(people.finance)
    people.approver.municipalities.remove(musterstadt)

    finance_roles = people.finance.history.latest().groups.values_list("group__name", flat=True)
    assert set(finance_roles) == {"finance", "auditor"}
    staff = musterstadt.history.latest().staff.values_list("user__username", flat=True)
    assert "anton" not in staff and "carla" in staff
