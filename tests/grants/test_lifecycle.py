from dataclasses import astuple
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_fsm_log.models import StateLog

from applicants.models import Applicant
from budgets.models import LedgerEntry
from budgets.selectors import allocation_balance
from core.errors import Code, DomainError
from grants import services
from grants.models import CostItem, Document, GrantApplication
from grants.rules import visible_applications
from grants.selectors import completeness_checklist
from grants.services import ComponentInput, CostInput

from ..factories import AllocationFactory, PropertyFactory, add_document, advance, make_application

State = GrantApplication.State
pytestmark = pytest.mark.django_db


@pytest.fixture
def application(programme, allocation, people):
    return make_application(programme=programme, applicant=people.alice)


def snapshot(application):
    """Everything a transition may touch, to prove a refused one touched nothing."""
    row = GrantApplication.objects.filter(pk=application.pk).values().get()
    return row, StateLog.objects.count(), list(LedgerEntry.objects.values_list("id", flat=True))


def test_the_whole_lifecycle_books_the_ledger_and_logs_every_step(application, allocation, people):
    advance(application, State.DOCUMENTED, people)
    application.refresh_from_db()

    assert application.file_number.startswith("FP-") and application.file_number.endswith("-0001")
    assert application.approved_grant == Decimal("7200.00")
    assert application.paid_amount == Decimal("7200.00")
    assert application.checked_by == people.caseworker and application.approved_by == people.approver
    log = list(
        StateLog.objects.for_(application)
        .order_by("timestamp", "id")
        .values_list("transition", "source_state", "state", "by__username")
    )
    assert log == [
        ("submit", "draft", "submitted", "alice"),
        ("mark_checked", "submitted", "checked", "carla"),
        ("approve", "checked", "approved", "anton"),
        ("certify_invoices", "approved", "approved", "carla"),
        ("pay", "approved", "paid", "fiona"),
        ("document", "paid", "documented", "carla"),
    ]
    kinds = list(application.ledger_entries.values_list("kind", "amount"))
    assert kinds == [("commitment", Decimal("7200.00")), ("payment", Decimal("7200.00"))]
    balance = allocation_balance(allocation)
    assert (balance.committed, balance.paid, balance.available) == (
        Decimal("7200.00"),
        Decimal("7200.00"),
        Decimal("92800.00"),
    )


def test_a_transition_logs_its_comment(application, people):
    services.application_submit(application_id=application.pk, by=people.owner, comment="Bitte zügig prüfen")
    entry = StateLog.objects.for_(application).get()
    assert entry.description == "Bitte zügig prüfen" and entry.by == people.owner and entry.timestamp


# The allowed graph of docs/domain.md: (action, from state) -> to state.
GRAPH = {
    ("submit", State.DRAFT): State.SUBMITTED,
    ("return_to_applicant", State.SUBMITTED): State.DRAFT,
    ("check", State.SUBMITTED): State.CHECKED,
    ("approve", State.CHECKED): State.APPROVED,
    ("reject", State.SUBMITTED): State.REJECTED,
    ("reject", State.CHECKED): State.REJECTED,
    ("withdraw", State.DRAFT): State.WITHDRAWN,
    ("withdraw", State.SUBMITTED): State.WITHDRAWN,
    ("withdraw", State.CHECKED): State.WITHDRAWN,
    ("withdraw", State.APPROVED): State.WITHDRAWN,
    ("pay", State.APPROVED): State.PAID,
    ("document", State.PAID): State.DOCUMENTED,
}
ACTOR = {
    "submit": "owner",
    "return_to_applicant": "caseworker",
    "check": "caseworker",
    "approve": "approver",
    "reject": "approver",
    "withdraw": "owner",
    "pay": "finance",
    "document": "caseworker",
}


def bring_to(application, state, people):
    main_path = [State.DRAFT, State.SUBMITTED, State.CHECKED, State.APPROVED, State.PAID, State.DOCUMENTED]
    if state in main_path:
        return advance(application, state, people)
    advance(application, State.SUBMITTED, people)
    if state == State.REJECTED:
        services.application_reject(application_id=application.pk, by=people.caseworker, comment="Nicht förderfähig")
    else:
        services.application_withdraw(application_id=application.pk, by=people.owner)
    application.refresh_from_db()
    return application


def prepare_for(action, application, people):
    if action == "pay" and application.state == State.APPROVED:
        invoices = [ComponentInput("facade", Decimal("180"), (CostInput("Rechnung", Decimal("30000.00")),))]
        services.application_certify_invoices(application_id=application.pk, by=people.caseworker, invoices=invoices)
    if action == "document":
        add_document(application, Document.Kind.PHOTO_AFTER)


@pytest.mark.parametrize("action", sorted(ACTOR))
@pytest.mark.parametrize("state", State.values)
def test_every_edge_of_the_graph_is_allowed_and_every_other_refused(action, state, application, people):
    bring_to(application, state, people)
    prepare_for(action, application, people)
    before = snapshot(application)
    run = services.TRANSITIONS[action]
    target = GRAPH.get((action, state))

    if target is None:
        with pytest.raises(DomainError) as refused:
            run(application_id=application.pk, by=getattr(people, ACTOR[action]), comment="Begründung")
        assert refused.value.code == Code.CONFLICT
        assert snapshot(application) == before
    else:
        run(application_id=application.pk, by=getattr(people, ACTOR[action]), comment="Begründung")
        application.refresh_from_db()
        assert application.state == target
        assert StateLog.objects.for_(application).latest().state == target


# For each action in the state it starts from: who may not do it, and what they are told.
REFUSED = {
    "submit": (State.DRAFT, ["other_owner", "caseworker", "approver", "finance", "auditor", "foreign_caseworker"]),
    "return_to_applicant": (State.SUBMITTED, ["owner", "approver", "finance", "auditor", "foreign_caseworker"]),
    "check": (State.SUBMITTED, ["owner", "approver", "finance", "auditor", "foreign_caseworker"]),
    "approve": (State.CHECKED, ["owner", "caseworker", "finance", "auditor", "foreign_approver"]),
    "reject": (State.SUBMITTED, ["owner", "finance", "auditor", "foreign_caseworker"]),
    "withdraw": (State.SUBMITTED, ["other_owner", "approver", "finance", "auditor", "foreign_caseworker"]),
    "pay": (State.APPROVED, ["owner", "caseworker", "approver", "auditor"]),
    "document": (State.PAID, ["owner", "approver", "finance", "auditor", "foreign_caseworker"]),
}


@pytest.mark.parametrize(
    ("action", "persona"), [(action, persona) for action, (_, personas) in REFUSED.items() for persona in personas]
)
def test_each_role_not_permitted_is_refused_and_nothing_changes(action, persona, application, people):
    state, _ = REFUSED[action]
    bring_to(application, state, people)
    prepare_for(action, application, people)
    before = snapshot(application)

    with pytest.raises(DomainError) as refused:
        services.TRANSITIONS[action](application_id=application.pk, by=getattr(people, persona), comment="Versuch")

    expected = "not_found" if persona in {"other_owner", "foreign_caseworker", "foreign_approver"} else "forbidden"
    assert refused.value.code == expected
    assert snapshot(application) == before


def test_staff_may_withdraw_on_the_applicants_behalf(application, people):
    advance(application, State.SUBMITTED, people)
    services.application_withdraw(application_id=application.pk, by=people.caseworker, comment="telefonisch")
    application.refresh_from_db()
    assert application.state == State.WITHDRAWN


def test_approver_cannot_approve_an_application_they_checked(application, people):
    people.caseworker.groups.add(*people.approver.groups.all())
    people.caseworker = type(people.caseworker).objects.get(pk=people.caseworker.pk)
    advance(application, State.CHECKED, people)

    with pytest.raises(DomainError) as refused:
        services.application_approve(application_id=application.pk, by=people.caseworker)
    assert refused.value.code == Code.FORBIDDEN
    assert "geprüft" in str(refused.value)
    application.refresh_from_db()
    assert application.state == State.CHECKED and not application.ledger_entries.exists()


def test_the_certifier_cannot_release_the_payment(application, people):
    people.caseworker.groups.add(*people.finance.groups.all())
    people.caseworker = type(people.caseworker).objects.get(pk=people.caseworker.pk)
    advance(application, State.APPROVED, people)
    prepare_for("pay", application, people)

    with pytest.raises(DomainError) as refused:
        services.application_pay(application_id=application.pk, by=people.caseworker)
    assert refused.value.code == Code.FORBIDDEN
    assert "sachlich richtig" in str(refused.value)
    services.application_pay(application_id=application.pk, by=people.finance)


def test_payment_needs_certified_invoices(application, people):
    advance(application, State.APPROVED, people)
    with pytest.raises(DomainError, match="sachlich richtig"):
        services.application_pay(application_id=application.pk, by=people.finance)


def test_approval_is_refused_when_the_allocation_cannot_carry_the_grant(programme, people):
    small = AllocationFactory(programme=programme, amount=Decimal("5000.00"))
    application = make_application(programme=programme, applicant=people.alice)
    advance(application, State.CHECKED, people)

    with pytest.raises(DomainError, match="reicht nicht") as refused:
        services.application_approve(application_id=application.pk, by=people.approver)
    assert "5.000,00" in str(refused.value) and "7.200,00" in str(refused.value)
    application.refresh_from_db()
    assert application.state == State.CHECKED
    assert allocation_balance(small).available == Decimal("5000.00")


def test_approval_is_refused_without_an_allocation_for_the_year(programme, people):
    application = make_application(programme=programme, applicant=people.alice)
    advance(application, State.CHECKED, people)
    with pytest.raises(DomainError, match="keine Mittelausstattung"):
        services.application_approve(application_id=application.pk, by=people.approver)


def test_withdrawing_an_approved_application_releases_its_commitment(application, allocation, people):
    advance(application, State.APPROVED, people)
    services.application_withdraw(application_id=application.pk, by=people.owner, comment="Verkauf des Hauses")
    balance = allocation_balance(allocation)
    assert balance.committed == Decimal("0.00") and balance.available == allocation.amount


def test_lower_actual_costs_lower_the_payment_and_release_the_rest(application, allocation, people):
    advance(application, State.APPROVED, people)
    # 20 m² less façade than planned is not the point; cheaper works are: 10,000 € gross → 5,000 € grant.
    invoices = [
        ComponentInput(
            "facade", Decimal("180"), (CostInput("Schlussrechnung", Decimal("8403.36"), Decimal("1596.64")),)
        )
    ]
    services.application_certify_invoices(application_id=application.pk, by=people.caseworker, invoices=invoices)
    services.application_pay(application_id=application.pk, by=people.finance)

    application.refresh_from_db()
    assert application.paid_amount == Decimal("5000.00")
    balance = allocation_balance(allocation)
    assert (balance.committed, balance.paid) == (Decimal("5000.00"), Decimal("5000.00"))


def test_higher_actual_costs_never_raise_the_payment(application, people):
    advance(application, State.APPROVED, people)
    invoices = [
        ComponentInput(
            "facade", Decimal("180"), (CostInput("Schlussrechnung", Decimal("90000.00"), Decimal("17100.00")),)
        )
    ]
    services.application_certify_invoices(application_id=application.pk, by=people.caseworker, invoices=invoices)
    services.application_pay(application_id=application.pk, by=people.finance)
    application.refresh_from_db()
    assert application.paid_amount == application.approved_grant == Decimal("7200.00")


def test_check_names_every_missing_condition_and_changes_nothing(programme, allocation, people):
    outside = PropertyFactory(street="Bahnhofstraße", house_number="3")
    application = make_application(
        programme=programme, applicant=people.alice, with_documents=False, with_consultation=False
    )
    GrantApplication.objects.filter(pk=application.pk).update(works_started_on="2026-01-05")
    advance(application, State.SUBMITTED, people)
    GrantApplication.objects.filter(pk=application.pk).update(property=outside)
    before = snapshot(application)

    with pytest.raises(DomainError) as refused:
        services.application_check(application_id=application.pk, by=people.caseworker)

    reasons = " ".join(refused.value.reasons)
    for expected in (
        "Angebote: 0 von 1",
        "Foto vor der Maßnahme",
        "Grundbuchauszug",
        "Fördergebiet",
        "Erstberatung",
        "vorzeitiger Maßnahmebeginn",
    ):
        assert expected in reasons
    assert snapshot(application) == before
    # The workspace's checklist is where these words come from: its unmet items, in its order.
    checklist = completeness_checklist(GrantApplication.objects.get(pk=application.pk))
    assert [label for label, ok, *_ in map(astuple, checklist) if not ok] == [
        "Angebote", "Unterlagen", "Fördergebiet", "Erstberatung", "Kein vorzeitiger Maßnahmebeginn"
    ]  # fmt: skip
    assert refused.value.reasons == [p for item in checklist if not item.ok for p in item.problems]


def test_a_tenant_needs_the_owners_consent(programme, allocation, people):
    people.alice.standing = Applicant.Standing.TENANT
    people.alice.save()
    application = make_application(programme=programme, applicant=people.alice)
    advance(application, State.SUBMITTED, people)
    with pytest.raises(DomainError, match="Zustimmung der Eigentümerseite"):
        services.application_check(application_id=application.pk, by=people.caseworker)
    add_document(application, Document.Kind.OWNER_CONSENT)
    services.application_check(application_id=application.pk, by=people.caseworker)


def test_an_application_outside_the_funding_area_cannot_be_submitted(programme, people):
    application = make_application(
        programme=programme, applicant=people.alice, property=PropertyFactory(street="Hauptstraße", house_number="101")
    )
    with pytest.raises(DomainError, match="nicht im Fördergebiet"):
        services.application_submit(application_id=application.pk, by=people.owner)
    application.refresh_from_db()
    assert application.state == State.DRAFT and application.file_number == ""


def test_return_to_applicant_needs_a_message_and_resubmission_keeps_the_file_number(application, people):
    advance(application, State.SUBMITTED, people)
    with pytest.raises(DomainError, match="was fehlt"):
        services.application_return_to_applicant(application_id=application.pk, by=people.caseworker, comment="  ")
    services.application_return_to_applicant(application_id=application.pk, by=people.caseworker, comment="Foto fehlt")
    application.refresh_from_db()
    number = application.file_number
    assert application.state == State.DRAFT and number
    services.application_submit(application_id=application.pk, by=people.owner)
    application.refresh_from_db()
    assert application.file_number == number


def test_rejection_needs_reasons(application, people):
    advance(application, State.SUBMITTED, people)
    with pytest.raises(DomainError, match="begründen") as refused:
        services.application_reject(application_id=application.pk, by=people.approver, comment="")
    assert refused.value.code == Code.INVALID


def test_file_numbers_count_up_per_programme_and_year(programme, allocation, people):
    first = make_application(programme=programme, applicant=people.alice)
    second = make_application(programme=programme, applicant=people.bob)
    services.application_submit(application_id=first.pk, by=people.owner)
    services.application_submit(application_id=second.pk, by=people.other_owner)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.file_number[:-4] == second.file_number[:-4]
    assert (first.file_number[-4:], second.file_number[-4:]) == ("0001", "0002")


def test_file_numbers_keep_counting_past_9999(programme, allocation, people):
    earlier = make_application(programme=programme, applicant=people.bob, with_documents=False)
    application = make_application(programme=programme, applicant=people.alice)
    services.application_submit(application_id=earlier.pk, by=people.other_owner)
    earlier.refresh_from_db()
    prefix = earlier.file_number[:-4]
    # As ten thousand cases before would have left them; as text, "9999" sorts after "10000".
    GrantApplication.objects.bulk_create(
        GrantApplication(programme=programme, applicant=people.bob, property=earlier.property, file_number=number)
        for number in (f"{prefix}0950", f"{prefix}9999", f"{prefix}10000")
    )
    services.application_submit(application_id=application.pk, by=people.owner)
    application.refresh_from_db()
    assert application.file_number == f"{prefix}10001"


@pytest.mark.parametrize(
    ("field", "component", "message"),
    [
        ("area", ComponentInput("facade", Decimal("0"), (CostInput("Anstrich", Decimal("1000")),)), "area_m2"),
        ("negative", ComponentInput("facade", Decimal("50"), (CostInput("Anstrich", Decimal("-5")),)), "net_amount"),
        ("absurd", ComponentInput("facade", Decimal("50"), (CostInput("Anstrich", Decimal("1e9")),)), "net_amount"),
        ("kind", ComponentInput("shop_window", Decimal("5"), (CostInput("Glas", Decimal("1000")),)), "kind"),
    ],
)
def test_bad_input_gets_a_validation_error_and_writes_nothing(field, component, message, programme, people):
    with pytest.raises(ValidationError) as error:
        services.application_create(
            programme=programme,
            applicant=people.alice,
            property=PropertyFactory(),
            components=[component],
            by=people.owner,
        )
    assert message in error.value.message_dict
    assert not GrantApplication.objects.exists() and not CostItem.objects.exists()


def test_owners_see_only_their_own_and_staff_only_their_municipality(application, people):
    assert list(visible_applications(people.owner)) == [application]
    assert list(visible_applications(people.caseworker)) == [application]
    assert list(visible_applications(people.auditor)) == [application]
    assert not visible_applications(people.other_owner).exists()
    assert not visible_applications(people.foreign_caseworker).exists()
