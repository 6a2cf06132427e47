"""Änderungsantrag: the owner asks to change an approved case, the caseworker checks, a second person decides.

Through the services, the portal, the workspace and the API: who may, in which state, the ledger per share
(an increase only if the allocation carries it, a decrease released), the notices, and what a refusal leaves.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_fsm_log.models import StateLog
from pypdf import PdfReader
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from budgets.models import Allocation, LedgerEntry
from budgets.selectors import allocation_balance
from budgets.services import allocation_committed, case_figures
from core.errors import DomainError
from grants import services
from grants.models import (
    ChangeRequest,
    CostItem,
    DeadlineExtension,
    Document,
    GrantApplication,
    LetterKind,
    OutboundEmail,
)
from grants.services import ComponentInput, CostInput

from ..factories import UserFactory
from ..portal.conftest import pdf_bytes

State = GrantApplication.State
pytestmark = pytest.mark.django_db


def facade(area: str, net: str, vat: str | None = None) -> list[ComponentInput]:
    vat = vat if vat is not None else str((Decimal(net) * Decimal("0.19")).quantize(Decimal("0.01")))
    return [
        ComponentInput("facade", Decimal(area), (CostInput("Fassade laut neuem Angebot", Decimal(net), Decimal(vat)),))
    ]


# 250 m² instead of 180 m²: the grant rises from 7,200 € to 10,000 € (40 € per m²).
LARGER = facade("250", "50000")
# 100 m²: the grant falls to 4,000 €.
SMALLER = facade("100", "20000")
REASON = "Beim Gerüstbau zeigte sich, dass auch die Giebelseite saniert werden muss."


def ask(application, people, components=LARGER, **kwargs):
    return services.change_request(
        application_id=application.pk, by=people.owner, components=components, reason=REASON, **kwargs
    )


def checked(application, people, components=LARGER):
    change = ask(application, people, components)
    services.change_check(application_id=application.pk, by=people.caseworker)
    return change


def frozen(application) -> dict:
    """What a refused step must leave as it was."""
    return {
        "application": GrantApplication.objects.filter(pk=application.pk).values().get(),
        "changes": list(ChangeRequest.objects.values()),
        "measures": list(CostItem.objects.filter(component__application=application).values()),
        "ledger": list(LedgerEntry.objects.values()),
        "documents": list(Document.objects.values()),
        "history": StateLog.objects.count(),
        "emails": OutboundEmail.objects.count(),
    }


def text_of(letter) -> str:
    with letter.file.open("rb") as handle:
        return " ".join(page.extract_text() for page in PdfReader(handle).pages)


def test_an_increase_is_checked_approved_by_a_second_person_and_committed_per_share(
    case, people, django_capture_on_commit_callbacks
):
    application = case("approved")
    change = ask(application, people)
    application.refresh_from_db()
    assert application.open_change == change and change.outcome == ChangeRequest.Outcome.OPEN
    assert (change.grant_before, change.grant) == (Decimal("7200.00"), Decimal("10000.00"))
    assert application.approved_grant == Decimal("7200.00")  # nothing changes before the decision
    assert [m["area_m2"] for m in change.measures_before] == ["180.00"]

    services.change_check(application_id=application.pk, by=people.caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        services.change_approve(application_id=application.pk, by=people.approver, comment="")
    application.refresh_from_db()
    change.refresh_from_db()
    assert application.open_change is None and change.outcome == ChangeRequest.Outcome.APPROVED
    assert change.checked_by == people.caseworker and change.decided_by == people.approver
    assert application.approved_grant == application.computed_grant == Decimal("10000.00")
    measure = application.components.get()
    assert measure.area_m2 == Decimal("250.00")
    assert [i.net_amount for i in measure.cost_items.filter(stage="quote")] == [Decimal("50000.00")]

    entries = list(application.ledger_entries.order_by("pk"))
    assert [(e.kind, e.amount) for e in entries] == [
        ("commitment", Decimal("7200.00")),
        ("commitment", Decimal("2800.00")),
    ]
    for entry in entries:
        assert entry.federal_amount + entry.state_amount + entry.municipal_amount + entry.private_amount == entry.amount
    allocation = Allocation.objects.get()
    figures = case_figures(allocation, application)
    assert sum(figures.committed.values()) == 1_000_000  # cents
    assert allocation_balance(allocation).committed == Decimal("10000.00")

    history = [log.transition for log in StateLog.objects.for_(application).order_by("pk")][-3:]
    assert history == ["request_change", "check_change", "approve_change"]
    letter = application.letters.get(kind=LetterKind.CHANGE)
    text = text_of(letter)
    assert "Änderungsbescheid" in text and "10.000,00 €" in text and "7.200,00 €" in text
    assert "250 m²" in text and "180 m²" in text and "Widerspruch" in text
    assert mail.outbox[-1].to == [people.owner.email] and "Änderung bewilligt" in mail.outbox[-1].subject


def test_a_decrease_releases_the_difference(case, people):
    application = case("approved")
    checked(application, people, SMALLER)
    services.change_approve(application_id=application.pk, by=people.approver)
    application.refresh_from_db()
    assert application.approved_grant == Decimal("4000.00")
    assert [(e.kind, e.amount) for e in application.ledger_entries.order_by("pk")] == [
        ("commitment", Decimal("7200.00")),
        ("release", Decimal("3200.00")),
    ]
    assert allocation_balance(Allocation.objects.get()).committed == Decimal("4000.00")


def test_an_increase_the_allocation_cannot_carry_is_refused_with_409_and_the_case_unchanged(case, people):
    application = case("approved")
    Allocation.objects.update(amount=Decimal("9000.00"))  # 1,800 € left; the change needs 2,800 €
    checked(application, people)
    before = frozen(application)
    with pytest.raises(DomainError) as refusal:
        services.change_approve(application_id=application.pk, by=people.approver)
    assert refusal.value.status == 409 and "reicht nicht" in str(refusal.value)
    assert frozen(application) == before
    application.refresh_from_db()
    assert application.open_change is not None  # still open: it may be refused or the allocation raised


def test_the_person_who_checked_the_change_may_not_approve_it(case, people, musterstadt):
    both = UserFactory(roles=["caseworker", "approver"], municipalities=[musterstadt])
    application = case("approved")
    ask(application, people)
    services.change_check(application_id=application.pk, by=both)
    before = frozen(application)
    with pytest.raises(DomainError) as refusal:
        services.change_approve(application_id=application.pk, by=both)
    assert refusal.value.status == 403 and "andere Person" in str(refusal.value)
    assert frozen(application) == before
    services.change_approve(application_id=application.pk, by=people.approver)


def test_a_refused_change_needs_reasons_and_leaves_the_notice_as_it_was(
    case, people, django_capture_on_commit_callbacks
):
    application = case("approved")
    ask(application, people)
    before = frozen(application)
    with pytest.raises(DomainError) as missing:
        services.change_refuse(application_id=application.pk, by=people.caseworker, comment="  ")
    assert missing.value.status == 400 and frozen(application) == before
    with django_capture_on_commit_callbacks(execute=True):
        services.change_refuse(
            application_id=application.pk, by=people.caseworker, comment="Die Giebelseite liegt außerhalb."
        )
    application.refresh_from_db()
    assert application.open_change is None and application.approved_grant == Decimal("7200.00")
    assert application.components.get().area_m2 == Decimal("180.00")
    assert application.ledger_entries.count() == 1
    assert ChangeRequest.objects.get().outcome == ChangeRequest.Outcome.REFUSED
    text = text_of(application.letters.get(kind=LetterKind.CHANGE_REFUSAL))
    assert "Die Giebelseite liegt außerhalb." in text and "7.200,00 €" in text and "Widerspruch" in text
    ask(application, people)  # and the owner may ask again


@pytest.mark.parametrize(
    "components, extra, message, status",
    [
        # Bad input (400); what follows from the case, its programme or its deadlines as they stand (409).
        ([], {}, "mindestens eine Maßnahme", 400),
        ([*LARGER, *LARGER], {}, "nur einmal", 400),
        ("unchanged", {}, "dieselben wie bisher", 409),
        ([ComponentInput("facade", Decimal("180"), (CostInput("Fassadenanstrich laut Angebot", Decimal("35294.12"),
                                                              Decimal("6705.88")),))], {}, "dieselben wie bisher", 409),
        (facade("180", "-5"), {}, "0", 409),
        ([ComponentInput("greening", Decimal("10"), (CostInput("Dach", Decimal("100"), Decimal("0")),))], {},
         "fördert keine Maßnahme", 409),
        ([ComponentInput("facade", Decimal("200"), ())], {}, "fehlen die Kosten", 409),
        (LARGER, {"completion_deadline": date(2000, 1, 1)}, "nicht verkürzen", 409),
    ],
)  # fmt: skip
def test_a_change_that_is_no_valid_change_is_refused_with_words_and_nothing_is_written(
    case, people, components, extra, message, status
):
    application = case("approved")
    before = frozen(application)
    if components == "unchanged":
        components = services.measures_of(application)
    with pytest.raises(DomainError) as refusal:
        ask(application, people, components, **extra)
    assert refusal.value.status == status
    assert message in str(refusal.value)
    assert frozen(application) == before


def test_without_reasons_nothing_is_asked(case, people):
    application = case("approved")
    before = frozen(application)
    with pytest.raises(DomainError) as refusal:
        services.change_request(application_id=application.pk, by=people.owner, components=LARGER, reason=" ")
    assert refusal.value.status == 400 and "begründen" in str(refusal.value)
    assert frozen(application) == before


@pytest.mark.parametrize("state", ["draft", "submitted", "checked", "paid"])
def test_only_an_approved_case_can_be_changed(case, people, state):
    application = case(state)
    before = frozen(application)
    with pytest.raises(DomainError) as refusal:
        ask(application, people)
    assert refusal.value.status == 409
    assert frozen(application) == before


def test_one_open_request_at_a_time_and_nothing_while_it_is_open(case, people):
    application = case("approved")
    ask(application, people)
    application.refresh_from_db()
    before = frozen(application)
    with pytest.raises(DomainError, match="bereits ein Änderungsantrag"):
        ask(application, people, SMALLER)
    later = {
        "completion_deadline": application.completion_deadline + relativedelta(months=3),
        "invoice_deadline": application.invoice_deadline + relativedelta(months=3),
    }
    with pytest.raises(DomainError, match="bereits ein Änderungsantrag"):
        services.extension_request(application_id=application.pk, by=people.owner, reason="Zeit", **later)
    invoices = [ComponentInput("facade", Decimal("180"), (CostInput("Rechnung", Decimal("1000"), Decimal("190")),))]
    with pytest.raises(DomainError, match="bereits ein Änderungsantrag"):
        services.application_certify_invoices(application_id=application.pk, by=people.caseworker, invoices=invoices)
    assert frozen(application) == before


def test_no_change_while_an_extension_is_open_nor_after_the_invoices_are_certified(case, people):
    application = case("approved")
    services.extension_request(
        application_id=application.pk,
        by=people.owner,
        reason="Zeit",
        completion_deadline=application.completion_deadline + relativedelta(months=3),
        invoice_deadline=application.invoice_deadline + relativedelta(months=3),
    )
    with pytest.raises(DomainError, match="Fristverlängerung beantragt"):
        ask(application, people)
    services.extension_grant(application_id=application.pk, by=people.caseworker)
    invoices = [ComponentInput("facade", Decimal("180"), (CostInput("Rechnung", Decimal("1000"), Decimal("190")),))]
    services.application_certify_invoices(application_id=application.pk, by=people.caseworker, invoices=invoices)
    with pytest.raises(DomainError, match="Schlussrechnung ist schon bestätigt"):
        ask(application, people)


@pytest.mark.parametrize("step", ["check_change", "approve_change", "refuse_change"])
def test_nothing_to_decide_without_a_request(case, people, step):
    application = case("approved")
    before = frozen(application)
    who = people.approver if step == "approve_change" else people.caseworker
    with pytest.raises(DomainError) as refusal:
        services.SERVICES[step](application_id=application.pk, by=who, comment="Grund")
    assert refusal.value.status == 409
    assert refusal.value.reasons == ["Zu diesem Antrag ist kein Änderungsantrag offen."]
    assert frozen(application) == before


def test_a_change_is_approved_only_after_its_check_and_checked_once(case, people):
    application = case("approved")
    ask(application, people)
    with pytest.raises(DomainError, match="noch nicht geprüft"):
        services.change_approve(application_id=application.pk, by=people.approver)
    services.change_check(application_id=application.pk, by=people.caseworker)
    with pytest.raises(DomainError, match="schon geprüft"):
        services.change_check(application_id=application.pk, by=people.caseworker)


PERSONAS = ["owner", "other_owner", "caseworker", "approver", "finance", "auditor", "foreign_caseworker"]
ALLOWED = {
    "request_change": {"owner"},
    "check_change": {"caseworker"},
    "approve_change": {"approver"},
    "refuse_change": {"caseworker", "approver"},
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("step", ALLOWED)
def test_each_change_step_only_for_its_role(case, people, step, persona):
    application = case("approved")
    if step != "request_change":
        ask(application, people)
    if step == "approve_change":
        services.change_check(application_id=application.pk, by=people.caseworker)
    before = frozen(application)
    kwargs = {"components": LARGER, "reason": REASON} if step == "request_change" else {"comment": "Begründung"}
    call = lambda: services.SERVICES[step](application_id=application.pk, by=getattr(people, persona), **kwargs)  # noqa: E731
    if persona in ALLOWED[step]:
        call()
        assert frozen(application) != before
        return
    with pytest.raises(DomainError) as refusal:
        call()
    expected = 404 if persona in {"other_owner", "foreign_caseworker"} else 403
    assert refusal.value.status == expected
    assert frozen(application) == before


def test_withdrawing_the_case_ends_its_open_change(case, people):
    application = case("approved")
    ask(application, people)
    services.application_withdraw(application_id=application.pk, by=people.owner)
    application.refresh_from_db()
    assert application.state == State.WITHDRAWN and application.open_change is None
    assert ChangeRequest.objects.get().outcome == ChangeRequest.Outcome.WITHDRAWN
    assert allocation_committed(Allocation.objects.get()) == dict.fromkeys(
        ("federal", "state", "municipal", "private"), 0
    )


def test_withdrawing_the_case_ends_its_open_extension(case, people):
    application = case("approved")
    services.extension_request(
        application_id=application.pk,
        by=people.owner,
        reason="Zeit",
        completion_deadline=application.completion_deadline + relativedelta(months=3),
        invoice_deadline=application.invoice_deadline + relativedelta(months=3),
    )
    services.application_withdraw(application_id=application.pk, by=people.owner)
    application.refresh_from_db()
    assert application.extension_requested_at is None
    assert DeadlineExtension.objects.get().outcome == DeadlineExtension.Outcome.WITHDRAWN


def test_new_deadlines_come_with_the_change(case, people):
    application = case("approved")
    new = (
        application.completion_deadline + relativedelta(months=6),
        application.invoice_deadline + relativedelta(months=6),
    )
    checked_change = ask(application, people, completion_deadline=new[0], invoice_deadline=new[1])
    assert checked_change.deadlines_change
    services.change_check(application_id=application.pk, by=people.caseworker)
    services.change_approve(application_id=application.pk, by=people.approver)
    application.refresh_from_db()
    assert (application.completion_deadline, application.invoice_deadline) == new


def pdf(name="angebot.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes(), content_type="application/pdf")


def test_the_documents_come_with_the_request_all_or_none(case, people, settings):
    application = case("approved")
    before = frozen(application)
    media = settings.MEDIA_ROOT
    files_before = sorted(p.name for p in media.rglob("*") if p.is_file())
    bad = SimpleUploadedFile("schaden.exe", b"MZ\x90\x00 not a document", content_type="application/pdf")
    with pytest.raises(ValidationError) as refusal:
        ask(application, people, files=[pdf(), bad])
    assert "schaden" in str(refusal.value)
    assert frozen(application) == before
    assert sorted(p.name for p in media.rglob("*") if p.is_file()) == files_before  # the first file is gone too
    change = ask(application, people, files=[pdf()])
    assert list(application.documents.filter(kind=Document.Kind.CHANGE).values_list("original_name", flat=True)) == [
        "angebot.pdf"
    ]
    assert change.application_id == application.pk


def test_the_owner_asks_in_the_portal_and_sees_old_and_new_on_the_case_page(case, people):
    application = case("approved")
    client = Client()
    client.force_login(people.owner)
    url = reverse("portal:request_change", args=[application.pk])
    assert url in client.get(reverse("portal:application", args=[application.pk])).content.decode()
    form = client.get(url)
    assert form.status_code == 200 and 'value="180"' in form.content.decode()  # prefilled with the approved measure
    deadlines = {
        "completion_deadline": f"{application.completion_deadline:%Y-%m-%d}",
        "invoice_deadline": f"{application.invoice_deadline:%Y-%m-%d}",
    }
    empty = client.post(url, {"facade-area": "250", "facade-net": "50.000,00", "facade-vat": "9.500,00", **deadlines})
    assert empty.status_code == 400 and "Bitte begründen Sie" in empty.content.decode()
    assert not ChangeRequest.objects.exists()
    response = client.post(
        url,
        {
            "facade-area": "250",
            "facade-net": "50.000,00",
            "facade-vat": "9.500,00",
            **deadlines,
            "reason": "Giebelseite kommt dazu",
            "files": [pdf()],
        },
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ihr Änderungsantrag ist eingegangen." in page
    assert "180 m² → 250 m²" in page and "7.200,00 € → 10.000,00 €" in page
    assert "Giebelseite kommt dazu" in page
    assert url not in page  # one request at a time
    assert client.get(url).status_code == 302
    assert Document.objects.filter(application=application, kind=Document.Kind.CHANGE).count() == 1


def test_the_change_form_of_someone_else_is_not_found_and_of_a_draft_not_offered(case, people):
    draft = case("draft")
    client = Client()
    client.force_login(people.owner)
    assert client.get(reverse("portal:request_change", args=[draft.pk])).status_code == 302
    other = Client()
    other.force_login(people.other_owner)
    assert other.get(reverse("portal:request_change", args=[draft.pk])).status_code == 404


def test_caseworker_and_approver_find_the_change_in_their_queues_and_decide_in_the_workspace(case, people):
    application = case("approved")
    ask(application, people)
    caseworker = Client()
    caseworker.force_login(people.caseworker)
    queue = caseworker.get(reverse("workspace:start")).content.decode()
    assert application.file_number in queue and "Änderungsantrag als geprüft bestätigen" in queue
    page = caseworker.get(reverse("workspace:application", args=[application.pk])).content.decode()
    assert "180 m² → 250 m²" in page and REASON in page
    response = caseworker.post(reverse("workspace:step", args=[application.pk, "check_change"]), {"comment": ""})
    assert response.status_code in (200, 302)
    approver = Client()
    approver.force_login(people.approver)
    queue = approver.get(reverse("workspace:start")).content.decode()
    assert application.file_number in queue and "Änderung bewilligen" in queue
    approver.post(reverse("workspace:step", args=[application.pk, "approve_change"]), {"comment": ""})
    application.refresh_from_db()
    assert application.approved_grant == Decimal("10000.00")


def test_the_api_asks_decides_and_shows_the_versions(case, people):
    application = case("approved")

    def client(user):
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        return c

    body = {
        "components": [
            {"kind": "facade", "area_m2": "250", "costs": [{"description": "Angebot", "net_amount": "50000.00",
                                                           "vat_amount": "9500.00"}]}
        ],
        "reason": "Giebelseite",
    }  # fmt: skip
    url = f"/api/applications/{application.pk}/request-change/"
    assert client(people.caseworker).post(url, body, format="json").status_code == 403
    assert client(people.owner).post(url, {**body, "reason": ""}, format="json").status_code == 400
    assert client(people.owner).post(url, {**body, "components": []}, format="json").status_code == 400
    response = client(people.owner).post(url, body, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["open_change"] == data["changes"][0]["id"] and data["changes"][0]["grant"] == "10000.00"
    again = client(people.owner).post(url, body, format="json")
    assert again.status_code == 409 and again.json()["reasons"]
    base = f"/api/applications/{application.pk}"
    assert client(people.approver).post(f"{base}/approve-change/", {}, format="json").status_code == 409
    assert client(people.caseworker).post(f"{base}/check-change/", {}, format="json").status_code == 200
    assert client(people.caseworker).post(f"{base}/approve-change/", {}, format="json").status_code == 403
    done = client(people.approver).post(f"{base}/approve-change/", {}, format="json")
    assert done.status_code == 200
    data = done.json()
    assert data["approved_grant"] == "10000.00" and data["open_change"] is None
    assert data["changes"][0]["outcome"] == "approved"
    assert data["changes"][0]["measures_before"][0]["area_m2"] == "180.00"
    assert data["changes"][0]["measures"][0]["area_m2"] == "250.00"
