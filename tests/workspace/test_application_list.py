"""The application list: filters, search, sort, pagination, Excel export, and a query count that does not grow."""

from datetime import datetime
from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from applicants.models import Applicant, Property
from grants.models import GrantApplication
from tests.factories import ProgrammeFactory, make_application

pytestmark = pytest.mark.django_db


def bulk_applications(programme, count: int, *, state="submitted", street="Hauptstraße", year=None):
    """Many submitted applications at once, without the services' per-row work."""
    applicants = Applicant.objects.bulk_create(
        Applicant(name=f"Eigentümer {i:04d}", street=street, house_number=str(i), postcode="12345", city="Musterstadt")
        for i in range(count)
    )
    properties = Property.objects.bulk_create(
        Property(street=street, house_number=str(i + 1), postcode="12345", city="Musterstadt") for i in range(count)
    )
    submitted = timezone.make_aware(datetime(year or timezone.localdate().year, 3, 1, 10))
    start = GrantApplication.objects.filter(programme=programme).count()
    return GrantApplication.objects.bulk_create(
        GrantApplication(
            programme=programme,
            applicant=a,
            property=p,
            state=state,
            file_number=f"{programme.code}-{submitted.year}-{start + i + 1:04d}",
            submitted_at=submitted,
            computed_grant=Decimal("1234.56") + i,
            total_costs=Decimal("5000.00"),
            eligible_costs=Decimal("5000.00"),
        )
        for i, (a, p) in enumerate(zip(applicants, properties, strict=True))
    )


@pytest.mark.parametrize("rows", [10, 500])
def test_the_list_needs_the_same_queries_for_10_and_500_rows(
    client, people, programme, rows, django_assert_num_queries
):
    bulk_applications(programme, rows)
    client.force_login(people.caseworker)
    url = reverse("workspace:applications") + "?sort=-grant&q=Haupt"
    with django_assert_num_queries(9):
        # 1 session, 2 user, 3 the TOTP device that confirmed the session (second factor),
        # 4 the user's groups (roles), 5 the user's municipalities,
        # 6 programmes for the filter, 7 first application date for the year filter,
        # 8 count for the pagination, 9 the page of applications with programme, applicant and property joined
        response = client.get(url)
    assert response.status_code == 200
    assert f"{rows} Anträge gefunden" in response.content.decode()


@pytest.mark.parametrize("rows", [10, 500])
def test_the_excel_export_needs_the_same_queries_for_10_and_500_rows(
    client, people, programme, rows, django_assert_num_queries
):
    bulk_applications(programme, rows)
    client.force_login(people.caseworker)
    with django_assert_num_queries(8):
        # 1 session, 2 user, 3 the TOTP device (second factor), 4 groups, 5 municipalities,
        # 6 programmes and 7 first date (the filter form),
        # 8 all filtered applications with programme, applicant and property joined
        response = client.get(reverse("workspace:applications") + "?format=xlsx")
    sheet = load_workbook(BytesIO(response.content)).active
    assert sheet.max_row == rows + 1


def test_the_export_holds_the_filtered_list_with_amounts_as_numbers(client, people, programme):
    bulk_applications(programme, 3, street="Marktplatz")
    bulk_applications(programme, 2, street="Hauptstraße")
    client.force_login(people.caseworker)
    response = client.get(reverse("workspace:applications") + "?street=markt&format=xlsx")
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response["Content-Disposition"]
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header[0] == "Aktenzeichen" and header[11] == "errechneter Zuschuss"
    assert len(body) == 3 and {r[3] for r in body} == {"Marktplatz"}
    grant = body[0][11]
    assert isinstance(grant, (int, float)) and not isinstance(grant, bool)
    assert sorted(r[11] for r in body) == [1234.56, 1235.56, 1236.56]
    assert body[0][7] == "eingereicht"


def test_filters_by_programme_state_year_street_and_applicant(client, people, programme, musterstadt):
    other = ProgrammeFactory(municipality=musterstadt, name="Hofprogramm", code="HP")
    bulk_applications(programme, 2)
    bulk_applications(other, 1, street="Gartenweg")
    bulk_applications(programme, 1, state="checked", year=2024)
    client.force_login(people.caseworker)

    def found(**params):
        response = client.get(reverse("workspace:applications"), params)
        assert response.status_code == 200
        return response.context["page"].paginator.count

    assert found() == 4
    assert found(programme=other.pk) == 1
    assert found(state="checked") == 1
    assert found(year=2024) == 1
    assert found(street="garten") == 1
    assert found(applicant="Eigentümer 0001") == 1
    assert found(q="HP-") == 1
    assert found(q="gartenweg HP") == 1
    assert found(q="gartenweg zzz") == 0  # every word must match
    assert found(state="nonsense") == 4  # an invalid filter is ignored, never an error


def test_search_finds_file_number_name_and_address(client, people, programme, allocation):
    application = make_application(programme=programme, applicant=people.alice)
    from grants.services import application_submit

    application_submit(application_id=application.pk, by=people.owner)
    application.refresh_from_db()
    client.force_login(people.caseworker)
    for q in [application.file_number, "Amsel", "Hauptstraße 12", "12345"]:
        page = client.get(reverse("workspace:applications"), {"q": q}).context["page"]
        assert [a.pk for a in page] == [application.pk], q


def test_sorting_and_pagination(client, people, programme):
    bulk_applications(programme, 30)
    client.force_login(people.caseworker)
    first = client.get(reverse("workspace:applications"), {"sort": "-grant"}).context["page"]
    assert first.paginator.num_pages == 2 and len(first) == 25
    assert first[0].computed_grant == Decimal("1263.56")
    ascending = client.get(reverse("workspace:applications"), {"sort": "grant", "page": 2})
    html = ascending.content.decode()
    assert ascending.context["page"][4].computed_grant == Decimal("1263.56")
    assert "Seite 2 von 2" in html
    assert 'aria-sort="ascending"' in html
    assert "1.234,56" in client.get(reverse("workspace:applications"), {"sort": "grant"}).content.decode()


def test_an_owners_text_never_becomes_a_formula_in_the_export(client, people, programme):
    (application,) = bulk_applications(programme, 1)
    Applicant.objects.filter(pk=application.applicant_id).update(name='=HYPERLINK("http://evil.example","Klick")')
    client.force_login(people.caseworker)
    response = client.get(reverse("workspace:applications") + "?format=xlsx")
    sheet = load_workbook(BytesIO(response.content)).active
    cell = sheet.cell(row=2, column=3)
    assert cell.value == '=HYPERLINK("http://evil.example","Klick")'
    assert cell.data_type == "s"
