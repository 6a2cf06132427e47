"""Who sees which workspace page and which button: an access story per role."""

import pytest
from django.urls import reverse

from core.errors import Code, DomainError
from grants.models import InternalNote
from grants.rules import workspace_steps
from grants.services import application_certify_invoices, application_check
from tests.factories import UserFactory, add_document

pytestmark = pytest.mark.django_db

PAGES = ["workspace:start", "workspace:applications", "workspace:budgets", "workspace:consultations"]


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitors_are_sent_to_the_login(client, page):
    response = client.get(reverse(page))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("page", PAGES)
def test_owners_are_refused_the_workspace(client, people, page):
    client.force_login(people.owner)
    assert client.get(reverse(page)).status_code == 403


@pytest.mark.parametrize("persona", ["caseworker", "approver", "finance", "auditor", "foreign_caseworker"])
@pytest.mark.parametrize("page", PAGES)
def test_every_staff_role_opens_the_workspace_pages(client, people, allocation, persona, page):
    client.force_login(getattr(people, persona))
    response = client.get(reverse(page))
    assert response.status_code == 200
    assert '<html lang="de"' in response.content.decode()


def test_the_owner_cannot_open_their_own_case_in_the_workspace(client, people, case):
    application = case("submitted")
    client.force_login(people.owner)
    assert client.get(reverse("workspace:application", args=[application.pk])).status_code == 403


def test_staff_of_another_municipality_get_not_found_everywhere(client, people, case, allocation):
    application = case("submitted")
    document = application.documents.first()
    client.force_login(people.foreign_caseworker)
    assert client.get(reverse("workspace:application", args=[application.pk])).status_code == 404
    assert client.post(reverse("workspace:step", args=[application.pk, "check"])).status_code == 404
    assert client.post(reverse("workspace:note", args=[application.pk]), {"text": "x"}).status_code == 404
    assert client.get(reverse("workspace:certify", args=[application.pk])).status_code == 404
    assert client.get(reverse("workspace:document", args=[document.pk])).status_code == 404
    assert client.get(reverse("workspace:allocation", args=[allocation.pk])).status_code == 404
    list_html = client.get(reverse("workspace:applications")).content.decode()
    assert application.file_number not in list_html
    application.refresh_from_db()
    assert application.state == "submitted" and not InternalNote.objects.exists()


def test_a_missing_application_is_not_found_alike(client, people):
    client.force_login(people.caseworker)
    assert client.get(reverse("workspace:application", args=[999999])).status_code == 404


STEPS = [
    # state, persona, the steps the page offers
    ("submitted", "caseworker", ["check", "return_to_applicant", "reject", "withdraw"]),
    ("submitted", "approver", ["reject"]),
    ("submitted", "finance", []),
    ("submitted", "auditor", []),
    ("checked", "caseworker", ["reject", "withdraw"]),
    ("checked", "approver", ["approve", "reject"]),
    ("checked", "finance", []),
    # A revocation case can be opened on every approved or paid case (it has its own page).
    ("approved", "caseworker", ["certify_invoices", "open_revocation", "withdraw"]),
    ("approved", "approver", []),
    ("approved", "finance", []),  # nothing to pay before the invoices are certified
    ("paid", "caseworker", ["document", "open_revocation", "record_inspection"]),
    ("paid", "finance", []),
    ("paid", "auditor", []),
]


@pytest.mark.parametrize(("state", "persona", "expected"), STEPS)
def test_the_page_offers_exactly_the_steps_the_user_may_take_now(client, people, case, state, persona, expected):
    application = case(state)
    user = getattr(people, persona)
    assert workspace_steps(user, application).allowed == expected
    client.force_login(user)
    html = client.get(reverse("workspace:application", args=[application.pk])).content.decode()
    for action in ["check", "approve", "pay", "document", "return_to_applicant", "reject", "withdraw"]:
        url = reverse("workspace:step", args=[application.pk, action])
        assert (f'action="{url}"' in html) == (action in expected), action
    assert (reverse("workspace:certify", args=[application.pk]) in html) == ("certify_invoices" in expected)


def test_finance_sees_the_pay_button_once_the_invoices_are_certified(client, people, case):
    application = case("approved")
    add_document(application, "invoice")
    application_certify_invoices(application_id=application.pk, by=people.caseworker, invoices=_invoices())
    application.refresh_from_db()
    assert workspace_steps(people.finance, application).allowed == ["pay"]
    client.force_login(people.finance)
    response = client.post(reverse("workspace:step", args=[application.pk, "pay"]), {"comment": "Überwiesen"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == "paid" and application.paid_by == people.finance


def test_an_approver_who_checked_the_case_sees_why_the_approve_button_is_missing(client, people, case, musterstadt):
    both = UserFactory(
        roles=["caseworker", "approver"], municipalities=[musterstadt], first_name="Anke", last_name="Beide"
    )
    application = case("submitted")
    application_check(application_id=application.pk, by=both)
    client.force_login(both)
    response = client.get(reverse("workspace:application", args=[application.pk]))
    html = response.content.decode()
    assert f'action="{reverse("workspace:step", args=[application.pk, "approve"])}"' not in html
    assert "Sie haben diesen Antrag geprüft; die Bewilligung muss eine andere Person aussprechen." in html
    assert "Geprüft von Anke Beide" in html
    # Forcing the step by hand is refused with the same reason, never a 500.
    response = client.post(reverse("workspace:step", args=[application.pk, "approve"]))
    assert response.status_code == 403
    assert "die Bewilligung muss eine andere Person aussprechen" in response.content.decode()
    application.refresh_from_db()
    assert application.state == "checked"


def test_whoever_certified_the_invoices_cannot_release_the_payment(client, people, case, musterstadt):
    both = UserFactory(roles=["caseworker", "finance"], municipalities=[musterstadt])
    application = case("approved")
    application_certify_invoices(application_id=application.pk, by=both, invoices=_invoices())
    application.refresh_from_db()
    steps = workspace_steps(both, application)
    assert "pay" not in steps.allowed
    assert any("andere Person freigeben" in reason for _, reason in steps.refused)


def test_the_auditor_reads_but_changes_nothing(client, people, case):
    application = case("submitted")
    client.force_login(people.auditor)
    html = client.get(reverse("workspace:application", args=[application.pk])).content.decode()
    assert reverse("workspace:note", args=[application.pk]) not in html
    response = client.post(reverse("workspace:step", args=[application.pk, "check"]))
    assert response.status_code == 403
    assert "Ihre Rolle erlaubt diesen Schritt nicht." in response.content.decode()
    assert client.post(reverse("workspace:note", args=[application.pk]), {"text": "Hinweis"}).status_code == 403
    assert client.get(reverse("workspace:certify", args=[application.pk])).status_code == 403
    consultations = client.get(reverse("workspace:consultations")).content.decode()
    assert "Erstberatung erfassen" not in consultations
    assert client.post(reverse("workspace:consultations"), {"name": "X"}).status_code == 403
    application.refresh_from_db()
    assert application.state == "submitted" and not InternalNote.objects.exists()


def _invoices():
    from decimal import Decimal

    from grants.services import ComponentInput, CostInput

    return [
        ComponentInput("facade", Decimal("180"), (CostInput("Schlussrechnung", Decimal("30000"), Decimal("5700")),))
    ]


def test_staff_who_apply_themselves_are_owners_of_that_case_never_its_caseworker(client, people, programme, allocation):
    from grants import services
    from grants.models import GrantApplication
    from grants.rules import decide
    from tests.factories import ApplicantFactory, make_application

    # Carla, a caseworker of Musterstadt, applies for her own house there.
    own = make_application(programme=programme, applicant=ApplicantFactory(user=people.caseworker))
    services.application_submit(application_id=own.pk, by=people.caseworker)
    own.refresh_from_db()

    assert own.file_number and not decide(people.caseworker, "check", own)
    with pytest.raises(DomainError) as refused:
        services.application_check(application_id=own.pk, by=people.caseworker)
    assert refused.value.code == Code.FORBIDDEN
    client.force_login(people.caseworker)
    assert client.get(reverse("workspace:application", args=[own.pk])).status_code == 404
    assert own.file_number not in client.get(reverse("workspace:applications")).content.decode()
    assert GrantApplication.objects.get(pk=own.pk).state == "submitted"


def test_a_note_with_a_nul_character_loses_it_and_one_of_nothing_else_is_a_clear_400_not_a_500(client, people, case):
    # Control characters are removed from every free text (core.text), NUL too; what is left is saved.
    application = case("submitted")
    client.force_login(people.caseworker)
    response = client.post(reverse("workspace:note", args=[application.pk]), {"text": "\x00\x07\u202e"})
    assert response.status_code == 400
    assert not InternalNote.objects.exists()
    client.post(reverse("workspace:note", args=[application.pk]), {"text": "Foto\x00 fehlt"})
    assert InternalNote.objects.get().text == "Foto fehlt"
