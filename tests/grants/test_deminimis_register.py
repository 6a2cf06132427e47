"""The de-minimis register: its fields as CSV and XML, the period, a revocation's correction, who may read it."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from xml.etree import ElementTree as ET

import pytest
from django.utils import timezone

from grants.models import GrantApplication, Revocation
from tests.factories import ProgrammeFactory, make_deminimis_grant

CSV_URL = "/arbeitsplatz/de-minimis/register.csv"
XML_URL = "/arbeitsplatz/de-minimis/register.xml"
PAGE_URL = "/arbeitsplatz/de-minimis/"


def _csv_rows(response):
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))


def test_the_csv_has_the_deminimis_grantss_fields(client, people, deminimis_grants):
    client.force_login(people.caseworker)
    response = client.get(CSV_URL)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    header, first, second = _csv_rows(response)
    assert header == [
        "Aktenzeichen", "Empfänger", "Steuernummer/USt-IdNr.", "Registernummer",
        "Betrag (Bruttosubventionsäquivalent) in EUR", "Tag der Gewährung", "Beihilfegeber", "Beihilfeinstrument",
        "Wirtschaftszweig (NACE)", "Verordnung", "berichtigt am",
    ]  # fmt: skip
    assert first == [
        "SF-2026-0001", "Glas & Co. GmbH", "DE123456789", "HRB 1234 Amtsgericht Köln", "7200,00", "02.03.2026",
        "Stadt Musterstadt – Amt für Stadtentwicklung", "Zuschuss", "47.11", "(EU) 2023/2831", "",
    ]  # fmt: skip
    assert second[1] == "Bob Brandt" and second[4] == "1500,50" and second[2] == ""


def test_the_xml_has_the_deminimis_grantss_fields(client, people, deminimis_grants):
    client.force_login(people.auditor)
    response = client.get(XML_URL, {"granted_from": "2026-01-01", "granted_until": "2026-12-31"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert (root.get("von"), root.get("bis")) == ("2026-01-01", "2026-12-31")
    aid = root.find("Beihilfe[@aktenzeichen='SF-2026-0001']")
    assert {child.tag: child.text for child in aid} == {
        "Empfaenger": "Glas & Co. GmbH",
        "Steuernummer": "DE123456789",
        "Registernummer": "HRB 1234 Amtsgericht Köln",
        "Betrag": "7200.00",
        "TagDerGewaehrung": "2026-03-02",
        "Beihilfegeber": "Stadt Musterstadt – Amt für Stadtentwicklung",
        "Beihilfeinstrument": "Zuschuss",
        "Wirtschaftszweig": "47.11",
        "Verordnung": "(EU) 2023/2831",
    }
    assert aid.find("Verordnung").get("code") == "general"
    assert aid.get("berichtigtAm") is None


def test_the_period_selects_by_the_day_of_granting(client, people, deminimis_grants):
    client.force_login(people.caseworker)
    rows = _csv_rows(client.get(CSV_URL, {"granted_from": "2026-03-03", "granted_until": "2026-06-30"}))
    assert [row[0] for row in rows[1:]] == ["SF-2026-0002"]
    rows = _csv_rows(client.get(CSV_URL, {"granted_until": "2026-03-02"}))
    assert [row[0] for row in rows[1:]] == ["SF-2026-0001"]
    assert client.get(CSV_URL, {"granted_from": "2026-07-01", "granted_until": "2026-01-01"}).status_code == 400


def test_a_revocation_corrects_the_entry(client, people, deminimis_grants):
    first = deminimis_grants["first"]
    decided = timezone.make_aware(datetime(2026, 9, 1, 12, 0))
    Revocation.objects.create(
        application=first, reason="purpose", facts="Schaufenster zugeklebt", intended_amount=Decimal("7200.00"),
        opened_by=people.caseworker, hearing_deadline=date(2026, 8, 1), outcome="revoked", decided_by=people.approver,
        decided_at=decided, grant_before=Decimal("7200.00"), revoked_amount=Decimal("3000.00"),
    )  # fmt: skip
    GrantApplication.objects.filter(pk=first.pk).update(approved_grant=Decimal("4200.00"))
    client.force_login(people.caseworker)
    row = _csv_rows(client.get(CSV_URL))[1]
    assert (row[4], row[-1]) == ("4200,00", "01.09.2026")
    root = ET.fromstring(client.get(XML_URL).content)
    aid = root.find("Beihilfe[@aktenzeichen='SF-2026-0001']")
    assert aid.get("berichtigtAm") == "2026-09-01" and aid.find("Betrag").text == "4200.00"


def test_only_de_minimis_grants_are_in_the_deminimis_grants(client, people, deminimis_grants, musterstadt):
    other = make_deminimis_grant(ProgrammeFactory(municipality=musterstadt, code="NP"), people.bob, on=date(2026, 5, 1),
                    amount="900.00", number=9)  # fmt: skip
    GrantApplication.objects.filter(pk=other.pk).update(deminimis_regulation="")
    client.force_login(people.caseworker)
    assert len(_csv_rows(client.get(CSV_URL))) == 3


@pytest.mark.parametrize("url", [PAGE_URL, CSV_URL, XML_URL])
def test_staff_of_another_municipality_see_none_of_it_and_owners_nothing(client, people, deminimis_grants, url):
    client.force_login(people.foreign_caseworker)
    response = client.get(url)
    assert response.status_code == 200
    assert b"SF-2026-0001" not in response.content
    client.force_login(people.owner)
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302


@pytest.mark.parametrize("persona", ["caseworker", "approver", "finance", "auditor"])
def test_every_staff_role_reads_the_page(client, people, deminimis_grants, persona):
    client.force_login(getattr(people, persona))
    response = client.get(PAGE_URL)
    assert response.status_code == 200
    assert "SF-2026-0001" in response.content.decode() and "Glas &amp; Co. GmbH" in response.content.decode()


@pytest.mark.parametrize("rows", [3, 30])
def test_the_deminimis_grants_costs_the_same_queries_at_any_length(
    client, people, deminimis_grants, programme, rows, django_assert_num_queries
):
    start = date(2025, 1, 1)
    for number in range(rows):
        make_deminimis_grant(
            programme, people.bob, on=start + timedelta(days=number), amount="100.00", number=100 + number
        )
    client.force_login(people.caseworker)
    # session and user (2), the second factor's device (1), the user's roles (1), the municipalities for the form (1)
    # and their ids (1), the page's count (1) and its rows with applicant, programme, municipality and the day of a
    # correction (1)
    with django_assert_num_queries(8):
        assert client.get(PAGE_URL).status_code == 200
    with django_assert_num_queries(7):  # as the page, without the count
        assert client.get(CSV_URL).status_code == 200
