"""Frozen terms: guideline versions, the approval that a later guideline cannot change, the consultation's date.

docs/domain.md, "Guideline versions" and "Completeness check (Vollständigkeitsprüfung)".
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from applicants.models import Consultation
from budgets.models import LedgerEntry
from core.errors import Code, DomainError
from grants import services
from grants.models import FundingAreaStreet, GrantApplication, GuidelineVersion, InternalNote, ProgrammeComponentRule
from grants.services import ComponentInput, CostInput
from tests.factories import PropertyFactory, UserFactory, advance, make_application

D = Decimal
State = GrantApplication.State
INVOICES = [ComponentInput("facade", D("180"), (CostInput("Schlussrechnung", D("35294.12"), D("6705.88")),))]


@pytest.fixture
def api():
    def client_for(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        return client

    return client_for


def new_version(programme, by, **changes):
    return services.guideline_version_create(
        programme_id=programme.pk, by=by, valid_from=timezone.localdate(), reason="Ratsbeschluss vom heutigen Tag",
        **changes,
    )  # fmt: skip


def certify_and_pay(application, people):
    services.application_certify_invoices(application_id=application.pk, by=people.caseworker, invoices=INVOICES)
    return services.application_pay(application_id=application.pk, by=people.finance)


# --- the scenario of issue 14 ------------------------------------------------------------------


def test_a_payment_follows_the_approved_version_when_the_rate_is_cut_after_the_approval(programme, allocation, people):
    approved = advance(make_application(programme=programme, applicant=people.alice), State.APPROVED, people)
    assert approved.approved_grant == D("7200.00") and approved.guideline_version.number == 1

    version_2 = new_version(programme, people.caseworker, funding_rate_percent=D("10"))
    paid = certify_and_pay(approved, people)

    # The same invoices under the approved version 1 (50 %, 40 €/m²): 7,200 €, nothing released.
    assert paid.payable_amount == paid.paid_amount == D("7200.00")
    assert paid.guideline_version.number == 1
    kinds = set(LedgerEntry.objects.filter(application=paid).values_list("kind", flat=True))
    assert LedgerEntry.Kind.RELEASE not in kinds

    # A case submitted after the change falls under version 2: 10 % of 42,000 € = 4,200 €.
    later = advance(
        make_application(programme=programme, applicant=people.bob, property=PropertyFactory(house_number="14")),
        State.SUBMITTED,
        people,
    )
    assert later.guideline_version == version_2 and later.computed_grant == D("4200.00")


def test_a_case_submitted_before_the_change_is_checked_and_approved_under_its_own_version(
    programme, allocation, people
):
    submitted = advance(make_application(programme=programme, applicant=people.alice), State.SUBMITTED, people)
    new_version(programme, people.caseworker, funding_rate_percent=D("10"), quotes_required=3)
    services.application_check(application_id=submitted.pk, by=people.caseworker)  # one quote is enough under 1
    approved = services.application_approve(application_id=submitted.pk, by=people.approver)
    assert approved.approved_grant == D("7200.00") and approved.guideline_version.number == 1


def test_a_returned_case_submitted_again_keeps_the_version_of_its_first_submission(programme, people):
    application = advance(make_application(programme=programme, applicant=people.alice), State.SUBMITTED, people)
    services.application_return_to_applicant(application_id=application.pk, by=people.caseworker, comment="Foto")
    new_version(programme, people.caseworker, funding_rate_percent=D("10"))
    again = services.application_submit(application_id=application.pk, by=people.owner)
    assert again.guideline_version.number == 1 and again.computed_grant == D("7200.00")


def test_a_draft_follows_the_programmes_current_version_until_it_is_submitted(programme, people):
    draft = make_application(programme=programme, applicant=people.alice)
    new_version(programme, people.caseworker, funding_rate_percent=D("10"))
    draft = services.application_update(application_id=draft.pk, by=people.owner, description="Anstrich")
    assert draft.guideline_version.number == 2 and draft.computed_grant == D("4200.00")


# --- a version with submissions cannot change ----------------------------------------------------


def test_a_version_only_drafts_use_can_still_be_corrected(programme, people):
    make_application(programme=programme, applicant=people.alice)
    version = services.guideline_version_update(
        version_id=programme.current_version.pk, by=people.caseworker, quotes_required=2
    )
    assert version.quotes_required == 2 and version.number == 1


def test_the_service_refuses_to_change_a_version_with_a_submission(programme, people):
    advance(make_application(programme=programme, applicant=people.alice), State.SUBMITTED, people)
    with pytest.raises(DomainError) as refusal:
        services.guideline_version_update(
            version_id=programme.current_version.pk, by=people.caseworker, funding_rate_percent=D("10")
        )
    assert refusal.value.code == Code.CONFLICT
    assert "Fassung 1 der Förderrichtlinie gilt für eingereichte Anträge" in refusal.value.reasons[0]
    assert GuidelineVersion.objects.get(pk=programme.current_version.pk).funding_rate_percent == D("50.00")


def test_the_model_refuses_to_change_a_frozen_version_or_its_rules_and_streets(programme, people):
    advance(make_application(programme=programme, applicant=people.alice), State.SUBMITTED, people)
    version = GuidelineVersion.objects.get(pk=programme.current_version.pk)
    version.funding_rate_percent = D("10")
    with pytest.raises(ValidationError, match="eingefroren|kann nicht mehr geändert werden"):
        version.save()
    rule = ProgrammeComponentRule.objects.get(version=version)
    rule.grant_cap_per_m2 = D("80.00")
    with pytest.raises(ValidationError):
        rule.save()
    street = FundingAreaStreet.objects.get(version=version)
    with pytest.raises(ValidationError):
        street.delete()
    with pytest.raises(ValidationError):
        FundingAreaStreet.objects.create(version=version, street="Marktplatz")
    assert FundingAreaStreet.objects.filter(version=version).count() == 1


@pytest.fixture
def admin_client(client, musterstadt):
    keeper = UserFactory(roles=["caseworker"], municipalities=[musterstadt], username="verwaltung", is_staff=True)
    keeper.user_permissions.set(Permission.objects.filter(content_type__app_label="grants"))
    client.force_login(keeper)
    client.keeper = keeper
    return client


def _admin_form(version, **changes):
    """What the admin's change form of ``version`` posts, with its two inlines."""
    data = {
        "programme": version.programme_id,
        "valid_from": version.valid_from.isoformat(),
        "reason": version.reason,
        "rounding": version.rounding,
        "vat_rule": version.vat_rule,
        "quotes_required": version.quotes_required,
        "commitment_years": version.commitment_years,
        "funding_rate_percent": str(version.funding_rate_percent),
        "property_cap": str(version.property_cap or ""),
        "minimum_grant": str(version.minimum_grant or ""),
        "consultation_required": "on" if version.consultation_required else "",
        "photo_before_required": "on",
        "land_register_required": "on",
    }
    for prefix, rows, fields in (
        ("component_rules", list(version.component_rules.all()), ("component", "grant_cap_per_m2")),
        ("funding_area", list(version.funding_area.all()), ("street", "number_from", "number_to", "parity")),
    ):
        data.update({f"{prefix}-TOTAL_FORMS": len(rows), f"{prefix}-INITIAL_FORMS": len(rows),
                     f"{prefix}-MIN_NUM_FORMS": 0, f"{prefix}-MAX_NUM_FORMS": 1000})  # fmt: skip
        for n, row in enumerate(rows):
            data[f"{prefix}-{n}-id"] = row.pk
            data[f"{prefix}-{n}-version"] = version.pk
            for name in fields:
                value = getattr(row, name)
                data[f"{prefix}-{n}-{name}"] = "" if value is None else str(value)
    data.update({key: "" if value is None else value for key, value in changes.items()})
    return {key: value for key, value in data.items() if value != ""}


def test_the_admin_refuses_to_save_a_frozen_version_and_saves_the_change_as_a_new_one(admin_client, programme, people):
    submitted = advance(make_application(programme=programme, applicant=people.alice), State.SUBMITTED, people)
    version = programme.current_version
    url = reverse("admin:grants_guidelineversion_change", args=[version.pk])
    assert "eingefroren" in admin_client.get(url).content.decode()

    refused = admin_client.post(url, _admin_form(version, funding_rate_percent="10", _save="Sichern"))
    assert refused.status_code == 200
    assert "Fassung 1 der Förderrichtlinie gilt für eingereichte Anträge" in refused.content.decode()
    assert GuidelineVersion.objects.get(pk=version.pk).funding_rate_percent == D("50.00")

    form = _admin_form(version, funding_rate_percent="10", reason="Ratsbeschluss: 10 %", _saveasnew="Als neu sichern")
    answer = admin_client.post(url, form)
    assert answer.status_code == 302
    second = GuidelineVersion.objects.get(programme=programme, number=2)
    assert (second.funding_rate_percent, second.author, second.reason) == (
        D("10.00"),
        admin_client.keeper,
        form["reason"],
    )
    assert [r.grant_cap_per_m2 for r in second.component_rules.all()] == [D("40.00")]
    assert [s.street for s in second.funding_area.all()] == ["Hauptstraße"]
    programme.refresh_from_db()
    assert programme.current_version == second
    submitted.refresh_from_db()
    assert submitted.guideline_version == version  # the submitted case keeps version 1
    assert version.component_rules.count() == 1 and version.funding_area.count() == 1


def test_the_admin_changes_a_version_in_place_while_no_application_was_submitted(admin_client, programme, people):
    version = programme.current_version
    url = reverse("admin:grants_guidelineversion_change", args=[version.pk])
    answer = admin_client.post(url, _admin_form(version, quotes_required="3", _save="Sichern"))
    assert answer.status_code == 302
    assert GuidelineVersion.objects.get(pk=version.pk).quotes_required == 3
    assert not GuidelineVersion.objects.filter(programme=programme, number=2).exists()


def test_the_admin_never_deletes_a_version(admin_client, programme):
    url = reverse("admin:grants_guidelineversion_delete", args=[programme.current_version.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert GuidelineVersion.objects.filter(pk=programme.current_version.pk).exists()


def test_a_new_version_cannot_start_in_the_future_or_before_the_current_one(programme, people):
    with pytest.raises(ValidationError, match="gilt"):
        services.guideline_version_create(
            programme_id=programme.pk, by=people.caseworker, valid_from=timezone.localdate() + timedelta(days=1),
            reason="zu früh",
        )  # fmt: skip
    with pytest.raises(ValidationError, match="vor der geltenden"):
        services.guideline_version_create(
            programme_id=programme.pk, by=people.caseworker, valid_from=programme.current_version.valid_from
            - timedelta(days=1), reason="rückwirkend",
        )  # fmt: skip


def test_the_api_offers_programmes_to_read_only_and_shows_the_version_in_force(api, programme, people):
    client = api(people.caseworker)
    url = f"/api/programmes/{programme.pk}/"
    for method in ("put", "patch", "delete"):
        assert (
            getattr(client, method)(url, {"guideline": {"funding_rate_percent": "10"}}, format="json").status_code
            == 405
        )
    assert client.post("/api/programmes/", {}, format="json").status_code == 405
    guideline = client.get(url).json()["guideline"]
    assert (guideline["number"], guideline["funding_rate_percent"]) == (1, "50.00")
    assert guideline["component_rules"][0]["grant_cap_per_m2"] == "40.00"


def test_the_api_and_the_case_page_name_the_version_of_the_case(api, client, programme, people):
    application = advance(make_application(programme=programme, applicant=people.alice), State.SUBMITTED, people)
    new_version(programme, people.caseworker, funding_rate_percent=D("10"))
    body = api(people.caseworker).get(f"/api/applications/{application.pk}/").json()
    assert body["guideline_version"] == {
        "id": application.guideline_version_id,
        "number": 1,
        "valid_from": "2020-01-01",
        "funding_rate_percent": "50.00",
    }
    client.force_login(people.caseworker)
    page = client.get(reverse("workspace:application", args=[application.pk])).content.decode()
    assert "Fassung 1, gültig ab 01.01.2020" in page and "bei der Einreichung festgehalten" in page


# --- the audit history ---------------------------------------------------------------------------


def test_the_history_says_who_made_each_version_and_who_changed_its_rules(client, programme, people):
    version_2 = new_version(programme, people.caseworker, funding_rate_percent=D("10"))
    rule = version_2.component_rules.get()
    rule._history_user = people.caseworker
    rule.grant_cap_per_m2 = D("30.00")
    rule.save()
    assert version_2.history.get().history_user == people.caseworker
    assert [h.grant_cap_per_m2 for h in rule.history.order_by("history_id")] == [D("40.00"), D("30.00")]

    client.force_login(people.auditor)
    versions = client.get(reverse("workspace:audit") + "?art=richtlinien").content.decode()
    assert "Fassung 2" in versions and "10,00" in versions
    rules = client.get(reverse("workspace:audit") + "?art=regeln").content.decode()
    assert "40,00 → 30,00" in rules.replace("\xa0", " ") or ("40,00" in rules and "30,00" in rules)


def test_another_towns_auditor_reads_none_of_the_versions_history(client, programme, people, musterstadt):
    from tests.factories import MunicipalityFactory

    other = UserFactory(roles=["auditor"], municipalities=[MunicipalityFactory(name="Nordheim")], username="nina")
    new_version(programme, people.caseworker, funding_rate_percent=D("10"))
    client.force_login(other)
    page = client.get(reverse("workspace:audit") + "?art=richtlinien").content.decode()
    assert "Fassadenprogramm Altstadt" not in page


# --- re-basing a pending case ----------------------------------------------------------------------


def test_a_pending_case_is_rebased_on_a_newer_version_that_allows_it_with_a_logged_reason(programme, people):
    application = advance(make_application(programme=programme, applicant=people.alice), State.CHECKED, people)
    new_version(programme, people.caseworker, property_cap=D("5000.00"), applies_to_pending=True)

    rebased = services.application_rebase(application_id=application.pk, by=people.caseworker, reason="§ 9 RL")
    assert rebased.guideline_version.number == 2 and rebased.computed_grant == D("5000.00")
    note = InternalNote.objects.get(application=application)
    assert "Fassung 2" in note.text and "Fassung 1" in note.text and "§ 9 RL" in note.text
    assert rebased.history.first().guideline_version_id == rebased.guideline_version_id


@pytest.mark.parametrize(
    ("state", "allows", "reason", "who", "code"),
    [
        (State.CHECKED, False, "weil", "caseworker", Code.CONFLICT),  # the new version does not say so
        (State.APPROVED, True, "weil", "caseworker", Code.CONFLICT),  # the notice fixed the version
        (State.DRAFT, True, "weil", "caseworker", Code.CONFLICT),  # a draft follows the current version anyway
        (State.SUBMITTED, True, "  ", "caseworker", Code.INVALID),  # the reason is required
        (State.SUBMITTED, True, "weil", "approver", Code.FORBIDDEN),
        (State.SUBMITTED, True, "weil", "auditor", Code.FORBIDDEN),
        (State.SUBMITTED, True, "weil", "foreign_caseworker", Code.NOT_FOUND),
    ],
)
def test_a_rebase_is_refused_by_role_state_transitional_rule_and_reason(
    programme, allocation, people, state, allows, reason, who, code
):
    application = make_application(programme=programme, applicant=people.alice)
    if state != State.DRAFT:
        application = advance(application, state, people)
    new_version(programme, people.caseworker, funding_rate_percent=D("10"), applies_to_pending=allows)
    before = GrantApplication.objects.get(pk=application.pk)
    with pytest.raises(DomainError) as refusal:
        services.application_rebase(application_id=application.pk, by=getattr(people, who), reason=reason)
    assert refusal.value.code == code
    after = GrantApplication.objects.get(pk=application.pk)
    assert (after.guideline_version_id, after.computed_grant) == (before.guideline_version_id, before.computed_grant)
    assert not InternalNote.objects.filter(application=application).exists()


def test_a_checked_case_that_would_fail_the_check_under_the_new_version_is_not_rebased(programme, people):
    application = advance(make_application(programme=programme, applicant=people.alice), State.CHECKED, people)
    new_version(programme, people.caseworker, quotes_required=3, applies_to_pending=True)
    with pytest.raises(DomainError) as refusal:
        services.application_rebase(application_id=application.pk, by=people.caseworker, reason="neue RL")
    assert "Angebote: 1 von 3 liegen vor." in refusal.value.reasons
    assert GrantApplication.objects.get(pk=application.pk).guideline_version.number == 1


def test_the_case_page_offers_the_rebase_and_takes_it(client, programme, people):
    application = advance(make_application(programme=programme, applicant=people.alice), State.SUBMITTED, people)
    new_version(programme, people.caseworker, funding_rate_percent=D("40"), applies_to_pending=True)
    client.force_login(people.caseworker)
    url = reverse("workspace:application", args=[application.pk])
    assert "Auf Fassung 2 umstellen" in client.get(url).content.decode()
    client.force_login(people.auditor)
    assert "Auf Fassung 2 umstellen" not in client.get(url).content.decode()
    client.force_login(people.caseworker)
    refused = client.post(reverse("workspace:rebase", args=[application.pk]), {"reason": ""})
    assert refused.status_code == 400
    answer = client.post(reverse("workspace:rebase", args=[application.pk]), {"reason": "Übergangsregelung"})
    assert answer.status_code == 302
    assert GrantApplication.objects.get(pk=application.pk).guideline_version.number == 2


# --- the initial consultation precedes the application ---------------------------------------------


def _consulted(programme, people, *, held_on, **terms):
    if terms:
        services.guideline_version_update(version_id=programme.current_version.pk, by=people.caseworker, **terms)
    application = make_application(programme=programme, applicant=people.alice, with_consultation=False)
    Consultation.objects.create(
        municipality=programme.municipality, applicant=people.alice, property=application.property,
        held_on=held_on, adviser="Vor-Ort-Büro",
    )  # fmt: skip
    return advance(application, State.SUBMITTED, people)


def test_a_consultation_on_the_day_of_the_submission_counts(programme, people):
    application = _consulted(programme, people, held_on=timezone.localdate())
    assert services.application_check(application_id=application.pk, by=people.caseworker).state == State.CHECKED


def test_a_consultation_after_the_submission_refuses_the_check_and_says_why(programme, people):
    application = _consulted(programme, people, held_on=timezone.localdate())
    later = timezone.localdate() + timedelta(days=3)
    Consultation.objects.filter(applicant=people.alice).update(held_on=later)
    with pytest.raises(DomainError) as refusal:
        services.application_check(application_id=application.pk, by=people.caseworker)
    expected = (
        f"Die Erstberatung am {later:%d.%m.%Y} fand nach der Einreichung am {timezone.localdate():%d.%m.%Y} statt; "
        "sie muss vor dem Antrag liegen."
    )
    assert expected in refusal.value.reasons


def test_an_earlier_consultation_counts_when_a_later_one_was_also_recorded(programme, people):
    application = _consulted(programme, people, held_on=timezone.localdate() - timedelta(days=10))
    Consultation.objects.create(
        municipality=programme.municipality, applicant=people.alice, property=application.property,
        held_on=timezone.localdate() + timedelta(days=2), adviser="Nachberatung",
    )  # fmt: skip
    checked = services.application_check(application_id=application.pk, by=people.caseworker)
    assert checked.consultation.adviser == "Vor-Ort-Büro"


def test_a_consultation_older_than_the_guidelines_maximum_age_refuses_the_check(programme, people):
    held = timezone.localdate() - timedelta(days=200)
    application = _consulted(programme, people, held_on=held, consultation_max_age_days=180)
    with pytest.raises(DomainError) as refusal:
        services.application_check(application_id=application.pk, by=people.caseworker)
    assert any("mehr als 180 Tage zurück" in reason for reason in refusal.value.reasons)


def test_a_consultation_within_the_maximum_age_counts(programme, people):
    held = timezone.localdate() - timedelta(days=180)
    application = _consulted(programme, people, held_on=held, consultation_max_age_days=180)
    assert services.application_check(application_id=application.pk, by=people.caseworker).state == State.CHECKED


def test_a_late_consultation_does_not_matter_where_the_guideline_requires_none(programme, people):
    application = _consulted(
        programme, people, held_on=timezone.localdate() + timedelta(days=5), consultation_required=False
    )
    assert services.application_check(application_id=application.pk, by=people.caseworker).state == State.CHECKED


def test_a_linked_consultation_after_the_submission_is_named_on_the_checklist(client, programme, people):
    application = _consulted(programme, people, held_on=timezone.localdate())
    Consultation.objects.filter(applicant=people.alice).update(held_on=timezone.localdate() + timedelta(days=1))
    client.force_login(people.caseworker)
    page = client.get(reverse("workspace:application", args=[application.pk])).content.decode()
    assert "fand nach der Einreichung" in page


# --- lists do not look versions up per row ---------------------------------------------------------


@pytest.mark.parametrize("versions", [1, 4])
def test_the_application_list_of_the_api_costs_the_same_queries_however_many_versions(
    api, programme, people, versions, django_assert_num_queries
):
    for n in range(versions):
        make_application(programme=programme, applicant=people.alice, property=PropertyFactory(house_number=str(n + 1)))
        advance(GrantApplication.objects.order_by("-pk").first(), State.SUBMITTED, people)
        new_version(programme, people.caseworker, funding_rate_percent=D(40 - n))
    assert GrantApplication.objects.values("guideline_version").distinct().count() == versions
    client = api(people.caseworker)
    with django_assert_num_queries(5 + 10):
        # token with user, roles, municipalities, count, the page with programme, version, applicant and
        # property joined, then the measures, their cost items, the deadline extensions, the change requests,
        # the invoices, the partial payments, the proofs of use, the revocation cases, the inspections and the
        # sale reports (prefetched)
        response = client.get("/api/applications/")
    assert {row["guideline_version"]["number"] for row in response.json()["results"]} == set(range(1, versions + 1))
