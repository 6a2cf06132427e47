"""De-minimis aid: the ceiling over rolling three years, the declaration, refusal and reduction (grants.deminimis)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.utils import timezone

from applicants.models import SingleUndertaking
from core.errors import DomainError
from grants import services
from grants.deminimis import AidInput, declaration_save, deminimis_reduce, position, window
from grants.letters import letter_html
from grants.models import DEMINIMIS, DeminimisDeclaration, GrantApplication, LetterKind, Programme
from tests.factories import AllocationFactory, ApplicantFactory, ProgrammeFactory, advance, make_application

# The default case: 180 m² of façade at 40 €/m² give a grant of 7,200 €.
GRANT = Decimal("7200.00")


@pytest.fixture
def deminimis_programme(programme):
    programme.deminimis_regulation = "general"
    programme.save()
    return programme


def declare(application, *aids):
    """The owner's declaration: the aids as (days ago, amount), or none."""
    today = timezone.localdate()
    return declaration_save(
        application_id=application.pk,
        by=application.applicant.user,
        none_received=not aids,
        aids=[AidInput(day if not isinstance(day, int) else today - timedelta(days=day), "Land NRW", Decimal(amount))
              for day, amount in aids],
    )  # fmt: skip


def submitted(programme, applicant, people, *aids):
    application = make_application(programme=programme, applicant=applicant)
    declare(application, *aids)
    return advance(application, "submitted", people)


def onward(application, target, people):
    """Walk a submitted case on to ``target`` (checked or approved)."""
    services.application_check(application_id=application.pk, by=people.caseworker)
    if target == "approved":
        services.application_approve(application_id=application.pk, by=people.approver)
    application.refresh_from_db()
    assert application.state == target
    return application


def approved_on(application, day):
    """Move a case's approval to a day (the day of granting of Förderdesk's own grant)."""
    moment = timezone.make_aware(datetime.combine(day, time(10, 0)))
    GrantApplication.objects.filter(pk=application.pk).update(approved_at=moment)


def test_the_window_is_the_day_of_granting_and_three_years_back_without_the_same_date():
    start, end = window(timezone.datetime(2026, 12, 4).date())
    assert (start, end) == (timezone.datetime(2023, 12, 5).date(), timezone.datetime(2026, 12, 4).date())
    # A leap day's three years end on the 1st of March (the 28th of February is the same date, excluded).
    assert window(timezone.datetime(2028, 2, 29).date())[0] == timezone.datetime(2025, 3, 1).date()


def test_submission_is_refused_without_the_declaration(deminimis_programme, allocation, people):
    application = make_application(programme=deminimis_programme, applicant=people.alice)
    with pytest.raises(DomainError) as refusal:
        services.application_submit(application_id=application.pk, by=people.owner)
    assert any("De-minimis-Erklärung" in reason for reason in refusal.value.reasons)


def test_a_programme_without_deminimis_needs_no_declaration(case):
    assert case("submitted").state == "submitted"


def test_submitting_signs_the_declaration_and_freezes_the_regulation(deminimis_programme, allocation, people):
    application = submitted(deminimis_programme, people.alice, people, (30, "1000.00"))
    declaration = DeminimisDeclaration.objects.get(application=application)
    assert declaration.signed_by == people.owner and declaration.signed_at is not None
    assert (application.deminimis_regulation, application.deminimis_ceiling) == ("general", Decimal("300000.00"))
    # Signed is never changed, nor its rows.
    declaration.none_received = True
    with pytest.raises(ValidationError):
        declaration.save()
    with pytest.raises(ValidationError):
        declaration.aids.first().save()
    # A later change of the programme does not reach the submitted case.
    Programme.objects.filter(pk=deminimis_programme.pk).update(deminimis_regulation="")
    application.refresh_from_db()
    assert application.is_deminimis()


def test_declared_aid_is_counted_and_the_check_refuses_with_the_figures(deminimis_programme, allocation, people):
    application = submitted(deminimis_programme, people.alice, people, (100, "295000.00"))
    with pytest.raises(DomainError) as refusal:
        services.application_check(application_id=application.pk, by=people.caseworker)
    assert refusal.value.status == 409
    text = " ".join(refusal.value.reasons)
    assert "7.200,00 €" in text and "300.000,00 €" in text and "295.000,00 €" in text and "5.000,00 €" in text
    application.refresh_from_db()
    assert application.state == "submitted"


def test_declared_aid_within_the_ceiling_passes(deminimis_programme, allocation, people):
    application = submitted(deminimis_programme, people.alice, people, (100, "292800.00"))
    assert onward(application, "approved", people).approved_grant == GRANT


# A day exactly three years before the day of granting is outside; the day after it is inside.
EDGE = [(relativedelta(years=3), False), (relativedelta(years=3, days=-1), True)]


@pytest.mark.parametrize(("back", "counted"), EDGE)
def test_declared_aid_at_the_edge_of_three_years(deminimis_programme, allocation, people, back, counted):
    day = timezone.localdate() - back
    application = submitted(deminimis_programme, people.alice, people, (day, "295000.00"))
    result = position(application, granted_on=timezone.localdate())
    assert result.declared == (Decimal("295000.00") if counted else Decimal("0.00"))
    if counted:
        with pytest.raises(DomainError):
            services.application_check(application_id=application.pk, by=people.caseworker)
    else:
        assert services.application_check(application_id=application.pk, by=people.caseworker).state == "checked"


@pytest.mark.parametrize(("back", "counted"), EDGE)
def test_a_linked_undertakings_grant_is_counted_inside_the_window(
    deminimis_programme, allocation, people, back, counted
):
    group = SingleUndertaking.objects.create(name="Amsel-Brandt-Gruppe")
    for member in (people.alice, people.bob):
        member.single_undertaking = group
        member.save()
    earlier = onward(submitted(deminimis_programme, people.bob, people), "approved", people)
    approved_on(earlier, timezone.localdate() - back)
    application = submitted(deminimis_programme, people.alice, people, (10, "290000.00"))
    result = position(application, granted_on=timezone.localdate())
    assert result.own == (GRANT if counted else Decimal("0.00"))
    # 290,000 declared + 7,200 of Bob's + 7,200 now is over 300,000; without Bob's it fits.
    if counted:
        with pytest.raises(DomainError):
            services.application_check(application_id=application.pk, by=people.caseworker)
    else:
        assert services.application_check(application_id=application.pk, by=people.caseworker).state == "checked"


def test_an_unlinked_applicants_grant_is_not_counted(deminimis_programme, allocation, people):
    onward(submitted(deminimis_programme, people.bob, people), "approved", people)
    application = submitted(deminimis_programme, people.alice, people)
    assert position(application, granted_on=timezone.localdate()).own == Decimal("0.00")


def test_grants_of_other_programmes_and_municipalities_are_counted(deminimis_programme, allocation, people):
    nachbarstadt = people.foreign_caseworker.municipalities.get()
    elsewhere = ProgrammeFactory(municipality=nachbarstadt, code="SF", deminimis_regulation="general")
    AllocationFactory(programme=elsewhere)
    other = make_application(programme=elsewhere, applicant=people.alice)
    declare(other)
    services.application_submit(application_id=other.pk, by=people.owner)
    services.application_check(application_id=other.pk, by=people.foreign_caseworker)
    services.application_approve(application_id=other.pk, by=people.foreign_approver)
    application = submitted(deminimis_programme, people.alice, people)
    assert position(application, granted_on=timezone.localdate()).own == GRANT


def test_a_revoked_amount_no_longer_counts(deminimis_programme, allocation, people):
    earlier = onward(submitted(deminimis_programme, people.alice, people), "approved", people)
    # What a decided revocation leaves is the case's approved_grant (grants.revocations); fully revoked is 0.
    GrantApplication.objects.filter(pk=earlier.pk).update(approved_grant=Decimal("2000.00"))
    application = submitted(deminimis_programme, people.alice, people)
    assert position(application, granted_on=timezone.localdate()).own == Decimal("2000.00")


def test_the_caseworker_reduces_to_what_is_left_and_the_reason_is_in_the_notice(
    deminimis_programme, allocation, people
):
    application = submitted(deminimis_programme, people.alice, people, (100, "295000.00"))
    with pytest.raises(DomainError) as refusal:
        deminimis_reduce(application_id=application.pk, by=people.caseworker, reason="  ")
    assert refusal.value.status == 400
    reduced = deminimis_reduce(
        application_id=application.pk, by=people.caseworker, reason="Höchstbetrag nach Art. 3 Abs. 2 fast erreicht."
    )
    assert reduced.deminimis_reduced_to == Decimal("5000.00")
    application = onward(application, "approved", people)
    assert application.approved_grant == Decimal("5000.00")
    assert application.ledger_entries.get().amount == Decimal("5000.00")
    _subject, html = letter_html(application, LetterKind.APPROVAL)
    assert "Höchstbetrag nach Art. 3 Abs. 2 fast erreicht." in html
    assert "Verordnung (EU) 2023/2831" in html and "5.000,00" in html and "zehn Jahre" in html


def test_no_reduction_where_the_grant_fits_or_nothing_is_left(deminimis_programme, allocation, people):
    fits = submitted(deminimis_programme, people.alice, people, (100, "1000.00"))
    with pytest.raises(DomainError):
        deminimis_reduce(application_id=fits.pk, by=people.caseworker, reason="Kürzung")
    exhausted = submitted(deminimis_programme, people.bob, people, (100, "300000.00"))
    with pytest.raises(DomainError) as refusal:
        deminimis_reduce(application_id=exhausted.pk, by=people.caseworker, reason="Kürzung")
    assert "ausgeschöpft" in refusal.value.reasons[0]


@pytest.mark.parametrize("who", ["approver", "finance", "auditor", "foreign_caseworker", "owner"])
def test_only_the_caseworker_of_the_municipality_reduces(deminimis_programme, allocation, people, who):
    application = submitted(deminimis_programme, people.alice, people, (100, "295000.00"))
    with pytest.raises(DomainError) as refusal:
        deminimis_reduce(application_id=application.pk, by=getattr(people, who), reason="Kürzung")
    assert refusal.value.status == (404 if who == "foreign_caseworker" else 403)


def test_the_reduction_is_made_only_while_submitted(deminimis_programme, allocation, people):
    application = onward(submitted(deminimis_programme, people.alice, people), "checked", people)
    with pytest.raises(DomainError) as refusal:
        deminimis_reduce(application_id=application.pk, by=people.caseworker, reason="Kürzung")
    assert refusal.value.status == 409


def test_the_approval_checks_again_and_refuses_when_the_ceiling_is_now_exceeded(
    deminimis_programme, allocation, people
):
    group = SingleUndertaking.objects.create(name="Verbund")
    for member in (people.alice, people.bob):
        member.single_undertaking = group
        member.save()
    first = onward(submitted(deminimis_programme, people.alice, people, (100, "288000.00")), "checked", people)
    # Meanwhile the linked Bob's grant is approved: the first no longer fits at its approval.
    onward(submitted(deminimis_programme, people.bob, people), "approved", people)
    with pytest.raises(DomainError) as refusal:
        services.application_approve(application_id=first.pk, by=people.approver)
    assert refusal.value.status == 409
    first.refresh_from_db()
    assert first.state == "checked" and first.approved_grant is None


def test_the_agriculture_ceiling_is_the_programmes_up_to_25000(musterstadt):
    programme = Programme(
        municipality=musterstadt, kind="facade", name="Hofläden", code="HL", deminimis_regulation="agriculture"
    )
    assert programme.deminimis_ceiling_in_force == DEMINIMIS["agriculture"].ceiling == Decimal("20000.00")
    programme.deminimis_ceiling = Decimal("25000.00")
    programme.clean()
    programme.deminimis_ceiling = Decimal("25000.01")
    with pytest.raises(ValidationError):
        programme.clean()


def test_agriculture_aid_counts_against_its_own_ceiling_general_aid_only_against_the_general(musterstadt, people):
    programme = ProgrammeFactory(municipality=musterstadt, code="HL", deminimis_regulation="agriculture")
    AllocationFactory(programme=programme)
    application = make_application(programme=programme, applicant=people.alice)
    today = timezone.localdate()
    declaration_save(
        application_id=application.pk,
        by=people.owner,
        none_received=False,
        aids=[
            AidInput(today - timedelta(days=5), "Landwirtschaftskammer", Decimal("10000.00"), "agriculture"),
            AidInput(today - timedelta(days=5), "Stadt", Decimal("200000.00"), "general"),
        ],
    )
    application = advance(application, "submitted", people)
    result = position(application, granted_on=today)
    # 20,000 − 10,000 agriculture aid leaves 10,000; the general ceiling leaves 90,000.
    assert result.left == Decimal("10000.00")
    assert services.application_check(application_id=application.pk, by=people.caseworker).state == "checked"


def test_a_declaration_needs_none_or_rows(deminimis_programme, allocation, people):
    application = make_application(programme=deminimis_programme, applicant=people.alice)
    with pytest.raises(DomainError) as refusal:
        declaration_save(application_id=application.pk, by=people.owner, none_received=False, aids=[])
    assert refusal.value.status == 400
    with pytest.raises(DomainError):
        declaration_save(
            application_id=application.pk,
            by=people.owner,
            none_received=True,
            aids=[AidInput(timezone.localdate(), "Land", Decimal("1.00"))],
        )
    with pytest.raises(DomainError) as refusal:
        declaration_save(application_id=application.pk, by=people.other_owner, none_received=True, aids=[])
    assert refusal.value.status == 404


def test_a_returned_case_keeps_its_signed_declaration_and_a_change_is_a_new_one(
    deminimis_programme, allocation, people
):
    application = submitted(deminimis_programme, people.alice, people, (100, "1000.00"))
    services.application_return_to_applicant(application_id=application.pk, by=people.caseworker, comment="Foto")
    declare(application, (50, "2000.00"))
    services.application_submit(application_id=application.pk, by=people.owner)
    declarations = list(DeminimisDeclaration.objects.filter(application=application).order_by("id"))
    assert [d.aids.get().amount for d in declarations] == [Decimal("1000.00"), Decimal("2000.00")]
    assert all(d.signed_at for d in declarations)
    application.refresh_from_db()
    assert position(application, granted_on=timezone.localdate()).declared == Decimal("2000.00")


def test_the_certificate_is_made_with_the_approval(
    deminimis_programme, allocation, people, django_capture_on_commit_callbacks
):
    application = submitted(deminimis_programme, people.alice, people)
    services.application_check(application_id=application.pk, by=people.caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        services.application_approve(application_id=application.pk, by=people.approver)
    application.refresh_from_db()
    kinds = set(application.letters.values_list("kind", flat=True))
    assert {LetterKind.APPROVAL, LetterKind.DEMINIMIS_CERTIFICATE} <= kinds
    _subject, html = letter_html(application, LetterKind.DEMINIMIS_CERTIFICATE)
    assert "De-minimis-Bescheinigung" in html and "7.200,00" in html and "ABl. L, 2023/2831" in html


def test_a_programme_without_deminimis_has_no_statement_nor_certificate(
    case, people, django_capture_on_commit_callbacks
):
    application = case("checked")
    with django_capture_on_commit_callbacks(execute=True):
        services.application_approve(application_id=application.pk, by=people.approver)
    assert not application.letters.filter(kind=LetterKind.DEMINIMIS_CERTIFICATE).exists()
    _subject, html = letter_html(application, LetterKind.APPROVAL)
    assert "De-minimis" not in html


def test_an_applicant_gets_its_undertaking_data(db):
    applicant = ApplicantFactory(
        kind="organisation", organisation="Amsel GmbH", tax_number="DE123456789", register_number="HRB 1234",
        register_court="Amtsgericht Köln", nace_code="47.11",
    )  # fmt: skip
    applicant.full_clean()
    assert applicant.identifier == "DE123456789, HRB 1234 Amtsgericht Köln"
    applicant.nace_code = "4711"
    with pytest.raises(ValidationError):
        applicant.full_clean()


def test_a_raise_by_change_request_is_checked_against_the_ceiling_and_named_in_the_change_notice(
    deminimis_programme, allocation, people, django_capture_on_commit_callbacks
):
    from .test_change_requests import LARGER, REASON, checked

    # 292,000 € declared: the 7,200 € of the approval fit, the 10,000 € of the change (302,000 €) do not.
    application = onward(submitted(deminimis_programme, people.alice, people, (100, "292000.00")), "approved", people)
    checked(application, people, LARGER)
    with pytest.raises(DomainError) as refusal:
        services.change_approve(application_id=application.pk, by=people.approver)
    assert refusal.value.status == 409 and "300.000,00 €" in " ".join(refusal.value.reasons)
    application.refresh_from_db()
    assert application.approved_grant == GRANT

    other = onward(submitted(deminimis_programme, people.bob, people, (100, "280000.00")), "approved", people)
    services.change_request(application_id=other.pk, by=people.other_owner, components=LARGER, reason=REASON)
    services.change_check(application_id=other.pk, by=people.caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        services.change_approve(application_id=other.pk, by=people.approver)
    other.refresh_from_db()
    assert other.approved_grant == Decimal("10000.00")
    _subject, html = letter_html(other, LetterKind.CHANGE)
    assert "Auch die Erhöhung wird als De-minimis-Beihilfe gewährt" in html and "10.000,00" in html
