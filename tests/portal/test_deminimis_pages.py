"""The de-minimis pages: the owner's declaration in the portal, the case page and the reduction in the workspace."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from applicants.models import SingleUndertaking
from grants import services
from grants.deminimis import declaration_save
from grants.models import DeminimisDeclaration
from tests.factories import make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(programme, allocation, people):
    programme.deminimis_regulation = "general"
    programme.save()
    return make_application(programme=programme, applicant=people.alice)


def _url(application):
    return reverse("portal:deminimis_declaration", args=[application.pk])


ROW = {"received": "yes", "granted_on_1": "02.05.2025", "granting_body_1": "Land NRW", "amount_1": "295.000,00",
       "regulation_1": "general"}  # fmt: skip


def test_the_owner_declares_and_the_review_shows_it(client, people, draft):
    client.force_login(people.owner)
    review = client.get(reverse("portal:step_review", args=[draft.pk])).content.decode()
    assert "Bitte geben Sie die De-minimis-Erklärung ab" in review and "Antrag verbindlich einreichen" not in review
    page = client.get(_url(draft))
    assert page.status_code == 200 and 'for="id_granted_on_1"' in page.content.decode()
    response = client.post(_url(draft), ROW)
    assert response.status_code == 302
    aid = DeminimisDeclaration.objects.get(application=draft).aids.get()
    assert (aid.amount, aid.granting_body, aid.granted_on.isoformat()) == (
        Decimal("295000.00"),
        "Land NRW",
        "2025-05-02",
    )
    review = client.get(reverse("portal:step_review", args=[draft.pk])).content.decode()
    assert "Land NRW" in review and "Antrag verbindlich einreichen" in review


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Bitte wählen Sie, ob Sie De-minimis-Beihilfen erhalten haben."),
        ({"received": "yes"}, "Bitte geben Sie die erhaltenen De-minimis-Beihilfen an"),
        ({"received": "yes", "granted_on_1": "02.05.2025"}, "Bitte geben Sie zu jeder Beihilfe Tag"),
        ({**ROW, "received": "no"}, "Bitte wählen Sie: keine De-minimis-Beihilfen erhalten, oder"),
    ],
)
def test_an_incomplete_declaration_is_refused_with_the_error_summary(client, people, draft, data, message):
    client.force_login(people.owner)
    response = client.post(_url(draft), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="fehler"' in body and message in body
    assert not DeminimisDeclaration.objects.filter(application=draft).exists()


def test_others_never_reach_the_declaration(client, people, draft, case):
    client.force_login(people.other_owner)
    assert client.get(_url(draft)).status_code == 404
    assert client.post(_url(draft), {"received": "no"}).status_code == 404
    client.force_login(people.caseworker)
    assert client.get(_url(draft)).status_code == 403
    client.logout()
    assert client.get(_url(draft)).status_code == 302


def test_a_submitted_declaration_cannot_be_changed_in_the_portal(client, people, draft):
    client.force_login(people.owner)
    client.post(_url(draft), {"received": "no"})
    services.application_submit(application_id=draft.pk, by=people.owner)
    response = client.post(_url(draft), ROW)
    assert response.status_code == 302 and response["Location"] == reverse("portal:application", args=[draft.pk])
    declaration = DeminimisDeclaration.objects.get(application=draft)
    assert declaration.none_received and not declaration.aids.exists() and declaration.signed_at
    page = client.get(reverse("portal:application", args=[draft.pk])).content.decode()
    assert "De-minimis-Erklärung" in page and "keine De-minimis-Beihilfen in den letzten drei Jahren" in page


def test_a_programme_without_de_minimis_has_no_declaration_page(client, people, programme):
    application = make_application(programme=programme, applicant=people.alice)
    client.force_login(people.owner)
    assert client.get(_url(application)).status_code == 404


def _submitted_over_the_ceiling(client, people, draft):
    client.force_login(people.owner)
    client.post(_url(draft), ROW)
    services.application_submit(application_id=draft.pk, by=people.owner)
    return reverse("workspace:deminimis_reduce", args=[draft.pk])


def test_the_case_page_shows_the_figures_and_the_caseworker_reduces(client, people, draft):
    url = _submitted_over_the_ceiling(client, people, draft)
    client.force_login(people.caseworker)
    page = client.get(reverse("workspace:application", args=[draft.pk])).content.decode()
    assert "De-minimis-Beihilfe" in page and "es bleiben 5.000,00 €" in page and url in page
    assert "kein Unternehmensverbund erfasst" in page
    refused = client.post(reverse("workspace:step", args=[draft.pk, "check"]))
    assert refused.status_code == 409 and "überschreitet den De-minimis-Höchstbetrag" in refused.content.decode()
    assert client.post(url, {"reason": ""}).status_code == 400
    response = client.post(url, {"reason": "Nur der Rest des Höchstbetrags."})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.deminimis_reduced_to == Decimal("5000.00")
    assert client.post(reverse("workspace:step", args=[draft.pk, "check"])).status_code == 302


@pytest.mark.parametrize(("persona", "status"), [("approver", 403), ("finance", 403), ("auditor", 403),
                                                 ("foreign_caseworker", 404), ("owner", 403)])  # fmt: skip
def test_only_the_caseworker_reduces_on_the_page(client, people, draft, persona, status):
    url = _submitted_over_the_ceiling(client, people, draft)
    client.force_login(getattr(people, persona))
    assert client.post(url, {"reason": "Kürzung"}).status_code == status
    draft.refresh_from_db()
    assert draft.deminimis_reduced_to is None


def test_the_reduction_page_is_post_only(client, people, draft):
    url = _submitted_over_the_ceiling(client, people, draft)
    client.force_login(people.caseworker)
    assert client.get(url).status_code == 405


ORGANISATION = {"kind": "organisation", "standing": "owner", "name": "Alice Amsel", "organisation": "Amsel GmbH",
                "street": "Gartenweg", "house_number": "3", "postcode": "12345", "city": "Musterstadt",
                "iban": "DE89370400440532013000", "tax_number": "DE123456789", "register_number": "HRB 1234",
                "register_court": "Amtsgericht Köln", "nace_code": "47.11"}  # fmt: skip


def test_the_owner_enters_the_undertakings_identifiers_and_a_new_record_stays_in_its_group(
    client, people, draft, programme
):
    group = SingleUndertaking.objects.create(name="Amsel-Gruppe")
    people.alice.single_undertaking = group
    people.alice.save()
    # Alice's record is kept as her submitted case says: a change makes a new record.
    other = make_application(programme=programme, applicant=people.alice)
    declaration_save(application_id=other.pk, by=people.owner, none_received=True, aids=[])
    services.application_submit(application_id=other.pk, by=people.owner)
    client.force_login(people.owner)
    url = reverse("portal:step_applicant", args=[draft.pk])
    assert client.post(url, {**ORGANISATION, "nace_code": "4711"}).status_code == 400
    assert client.post(url, ORGANISATION).status_code == 302
    draft.refresh_from_db()
    applicant = draft.applicant
    assert applicant.pk != people.alice.pk and applicant.single_undertaking == group
    assert applicant.identifier == "DE123456789, HRB 1234 Amtsgericht Köln" and applicant.nace_code == "47.11"


def test_the_owners_certificate_is_downloaded_in_the_portal(client, people, draft, django_capture_on_commit_callbacks):
    client.force_login(people.owner)
    client.post(_url(draft), {"received": "no"})
    services.application_submit(application_id=draft.pk, by=people.owner)
    services.application_check(application_id=draft.pk, by=people.caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        services.application_approve(application_id=draft.pk, by=people.approver)
    certificate = draft.letters.get(kind="deminimis_certificate")
    page = client.get(reverse("portal:application", args=[draft.pk])).content.decode()
    assert reverse("letter-download", args=[certificate.pk]) in page and "De-minimis-Bescheinigung" in page
    response = client.get(reverse("letter-download", args=[certificate.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    client.force_login(people.other_owner)
    assert client.get(reverse("letter-download", args=[certificate.pk])).status_code == 404
