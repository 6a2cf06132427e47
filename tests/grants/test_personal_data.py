"""Auskunft nach Art. 15 DSGVO: all data about one person, and nothing about anyone else."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from grants.models import Document, Programme

from ..factories import AllocationFactory, MunicipalityFactory, ProgrammeFactory, add_document, make_application

pytestmark = pytest.mark.django_db


def unzip(content: bytes) -> tuple[dict, set[str]]:
    archive = zipfile.ZipFile(io.BytesIO(content))
    names = set(archive.namelist())
    return json.loads(archive.read("data.json")), names


@pytest.fixture
def two_cases(case, people, programme):
    """Alice's checked case, and Bob's submitted case in the same programme."""
    alices = case("checked")
    bobs = make_application(programme=programme, applicant=people.bob)
    from grants import services

    services.application_submit(application_id=bobs.pk, by=people.other_owner)
    bobs.refresh_from_db()
    return alices, bobs


def test_the_owner_downloads_all_their_data_and_nothing_of_another_person(client, people, two_cases):
    alices, bobs = two_cases
    client.force_login(people.owner)

    page = client.get(reverse("portal:applications")).content.decode()
    assert "Meine Daten herunterladen" in page
    response = client.get(reverse("portal:my_data"))

    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    data, names = unzip(response.content)
    text = json.dumps(data, ensure_ascii=False)
    assert data["benutzerkonto"]["username"] == "alice"
    assert data["antragstellende"][0]["name"] == "Alice Amsel"
    assert data["antragstellende"][0]["iban"] == "DE89370400440532013000"
    assert [a["file_number"] for a in data["antraege"]] == [alices.file_number]
    application = data["antraege"][0]
    assert application["massnahmen"][0]["kosten"][0]["netto"] == "35294.12"
    assert [s["schritt"] for s in application["statusverlauf"]] == ["submit", "mark_checked"]
    assert application["aenderungsprotokoll"] and application["aenderungsprotokoll"][-1]["status"] == "checked"
    assert data["erstberatungen"] and data["grundstuecke"]
    documents = application["dokumente"]
    assert len(documents) == 3 and all(d["datei_im_zip"] in names for d in documents)
    assert "Bob Brandt" not in text and bobs.file_number not in text


def test_staff_export_a_case_applicant_but_only_their_municipalitys_cases(client, people, two_cases):
    alices, _bobs = two_cases
    elsewhere = ProgrammeFactory(municipality=MunicipalityFactory(name="Nachbarstadt"), name="Hofprogramm Nord")
    AllocationFactory(programme=elsewhere)
    foreign = make_application(programme=elsewhere, applicant=people.alice)
    client.force_login(people.caseworker)

    detail = client.get(reverse("workspace:application", args=[alices.pk])).content.decode()
    assert reverse("workspace:personal_data", args=[alices.pk]) in detail
    response = client.get(reverse("workspace:personal_data", args=[alices.pk]))

    assert response.status_code == 200
    data, _names = unzip(response.content)
    assert [a["id"] for a in data["antraege"]] == [alices.pk]
    assert "Hofprogramm Nord" not in json.dumps(data, ensure_ascii=False)
    assert foreign.pk not in [a["id"] for a in data["antraege"]]


@pytest.mark.parametrize(
    "persona, status",
    [("foreign_caseworker", 404), ("auditor", 403), ("other_owner", 403)],
)
def test_others_may_not_export_a_case_applicant(client, people, two_cases, persona, status):
    alices, _bobs = two_cases
    client.force_login(getattr(people, persona))
    assert client.get(reverse("workspace:personal_data", args=[alices.pk])).status_code == status


def test_staff_are_not_offered_the_owner_export(client, people):
    client.force_login(people.caseworker)
    assert client.get(reverse("portal:my_data")).status_code == 403


def test_the_command_writes_the_export(people, two_cases, tmp_path):
    target = tmp_path / "alice.zip"
    call_command("export_personal_data", "--user", "alice", "-o", str(target))
    data, _names = unzip(target.read_bytes())
    assert data["antragstellende"][0]["name"] == "Alice Amsel"
    assert Programme.objects.count() == 1


def test_the_export_holds_what_the_owner_asked_and_handed_in_after_approval(client, people, case):
    from decimal import Decimal

    from grants import services

    application = case("approved")
    larger = [
        services.ComponentInput(
            "facade", Decimal("250"), (services.CostInput("Angebot", Decimal("50000"), Decimal("9500")),)
        )
    ]
    services.change_request(application_id=application.pk, by=people.owner, components=larger, reason="Giebelseite")
    document = add_document(application, Document.Kind.INVOICE)
    services.invoice_record(
        application_id=application.pk,
        by=people.owner,
        document_id=document.pk,
        data=services.InvoiceInput(
            number="R-7", issued_on=timezone.localdate(), supplier="Malerbetrieb Specht", measure="facade",
            description="Anstrich", net_amount=Decimal("1000.00"), vat_amount=Decimal("190.00"),
        ),
    )  # fmt: skip
    client.force_login(people.owner)
    data, _names = unzip(client.get(reverse("portal:my_data")).content)
    case_data = data["antraege"][0]
    assert case_data["aenderungsantraege"][0]["begruendung"] == "Giebelseite"
    assert case_data["aenderungsantraege"][0]["massnahmen_beantragt"][0]["area_m2"] == "250.00"
    assert case_data["rechnungen"][0]["rechnungssteller"] == "Malerbetrieb Specht"
    assert case_data["rechnungen"][0]["brutto"] == "1190.00"
    assert case_data["fristverlaengerungen"] == [] and case_data["verwendungsnachweise"] == []
