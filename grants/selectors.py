"""Reads of programmes and applications, shared by pages, API and exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from dateutil.relativedelta import relativedelta
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm_log.models import StateLog

from applicants.models import Applicant, Consultation, User
from budgets.rules import visible_allocations
from budgets.selectors import balances_of
from core.money import CENT, ZERO

from .calculator import GrantResult
from .models import (
    Appeal,
    ChangeRequest,
    CostItem,
    DeadlineExtension,
    Document,
    GrantApplication,
    Inspection,
    Invoice,
    LetterKind,
    MeasureComponent,
    Notice,
    PartialPayment,
    Programme,
    ProofOfUse,
    Revocation,
    SaleReport,
    _normalise_street,
)
from .rules import staff_applications, visible_applications
from .steps import QUEUES

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

State = GrantApplication.State


# What a programme's conditions show: the rules and the streets of the guideline version in force.
CURRENT_TERMS = ("current_version__component_rules", "current_version__funding_area")


def open_programmes(*, on: date) -> QuerySet[Programme]:
    """Programmes taking applications on a day, with their guideline in force; none without a guideline."""
    return (
        Programme.objects.filter(Q(opens_on__isnull=True) | Q(opens_on__lte=on))
        .filter(Q(closes_on__isnull=True) | Q(closes_on__gte=on))
        .filter(current_version__isnull=False)
        .select_related("municipality", "current_version")
        .prefetch_related(*CURRENT_TERMS)
    )


def programmes_of(user: User) -> QuerySet[Programme]:
    """The programmes of the user's municipalities, for filters and the dashboard."""
    return Programme.objects.filter(municipality__in=user.municipality_ids).select_related("municipality")


# The list's sort keys (what the page offers) and the columns they order by.
APPLICATION_SORTS = {
    "file_number": ("file_number",),
    "applicant": ("applicant__name",),
    "street": ("property__street", "property__house_number"),
    "programme": ("programme__name",),
    "state": ("state",),
    "submitted": ("submitted_at",),
    "grant": ("computed_grant",),
}
DEFAULT_SORT = "-submitted"
SEARCH_FIELDS = (
    "file_number",
    "applicant__name",
    "applicant__organisation",
    "property__street",
    "property__house_number",
    "property__postcode",
    "property__city",
)


def _ordering(sort: str) -> list:
    key = sort.removeprefix("-")
    if key not in APPLICATION_SORTS:
        key, sort = "submitted", DEFAULT_SORT
    descending = sort.startswith("-")
    columns = [F(c).desc(nulls_last=True) if descending else F(c).asc(nulls_last=True) for c in APPLICATION_SORTS[key]]
    return [*columns, "-pk" if descending else "pk"]


def workspace_applications(
    user: User,
    *,
    programme: int | None = None,
    state: str = "",
    year: int | None = None,
    street: str = "",
    applicant: str = "",
    q: str = "",
    sort: str = DEFAULT_SORT,
) -> QuerySet[GrantApplication]:
    """The application list of the workspace: filtered, searched and sorted, with what each row shows.

    The search matches every word against file number, applicant and address; the year is
    the year of submission (of creation for drafts).
    """
    applications = staff_applications(user).select_related("programme", "applicant", "property")
    # The finality of the case's (latest) approval notice, for its column.
    approval = Notice.objects.filter(letter__application=OuterRef("pk"), letter__kind=LetterKind.APPROVAL).order_by(
        "-letter__created_at", "-letter_id"
    )
    applications = applications.annotate(
        approval_final_on=Subquery(approval.values("final_on")[:1]),
        approval_deadline=Subquery(approval.values("appeal_deadline")[:1]),
        approval_appeal_pending=Exists(
            Appeal.objects.filter(
                application=OuterRef("pk"), notice__letter__kind=LetterKind.APPROVAL, outcome=Appeal.Outcome.PENDING
            )
        ),
    )
    if programme:
        applications = applications.filter(programme_id=programme)
    if state:
        applications = applications.filter(state=state)
    if year:
        applications = applications.filter(
            Q(submitted_at__year=year) | Q(submitted_at__isnull=True, created_at__year=year)
        )
    if street:
        applications = applications.filter(property__street__icontains=street.strip())
    if applicant:
        applications = applications.filter(
            Q(applicant__name__icontains=applicant.strip()) | Q(applicant__organisation__icontains=applicant.strip())
        )
    for word in q.split():
        match = Q()
        for field in SEARCH_FIELDS:
            match |= Q(**{f"{field}__icontains": word})
        applications = applications.filter(match)
    return applications.order_by(*_ordering(sort))


def commitment_cases(
    user: User,
    *,
    today: date,
    programme: int | None = None,
    status: str = "running",
    ends_by: int | None = None,
    q: str = "",
) -> QuerySet[GrantApplication]:
    """The paid cases with their commitment period, each with its last inspection; ending soonest first.

    ``status``: running, inspection_due (none in the last twelve months), ending (in the next twelve months), sale (a
    report waits), broken (a revocation case), fulfilled (ended without one), all.
    """
    broken = Exists(
        Revocation.objects.filter(application=OuterRef("pk"), outcome__in=(Revocation.Outcome.REVOKED, "withdrawn"))
    )
    cases = (
        staff_applications(user)
        .filter(commitment_until__isnull=False)
        .select_related("programme", "applicant", "property")
        .annotate(last_inspection=Max("inspections__inspected_on"), broken=broken)
    )
    intact = Q(broken=False, open_revocation__isnull=True) & ~Q(state=GrantApplication.State.REVOKED)
    year_ago, in_a_year = today - relativedelta(years=1), today + relativedelta(years=1)
    running = intact & Q(commitment_until__gte=today)
    if status == "running":
        cases = cases.filter(running)
    elif status == "inspection_due":
        cases = cases.filter(running).filter(
            Q(last_inspection__isnull=True, commitment_from__lte=year_ago) | Q(last_inspection__lt=year_ago)
        )
    elif status == "ending":
        cases = cases.filter(running, commitment_until__lte=in_a_year)
    elif status == "sale":
        cases = cases.filter(sale_reported_at__isnull=False)
    elif status == "broken":
        cases = cases.filter(~intact)
    elif status == "fulfilled":
        cases = cases.filter(intact, commitment_until__lt=today)
    if programme:
        cases = cases.filter(programme_id=programme)
    if ends_by:
        cases = cases.filter(commitment_until__year__lte=ends_by)
    for word in q.split():
        match = Q()
        for field in SEARCH_FIELDS:
            match |= Q(**{f"{field}__icontains": word})
        cases = cases.filter(match)
    return cases.prefetch_related(
        Prefetch("revocations", queryset=Revocation.objects.only("id", "application_id", "outcome"))
    ).order_by("commitment_until", "id")


def application_years(user: User) -> list[int]:
    """The years the list can be filtered by: from the first submission to this year."""
    # The bounds of the range only: the staff member's own cases (excluded from the list) do not matter here.
    programmes = Programme.objects.filter(municipality__in=user.municipality_ids).values("pk")
    firsts = GrantApplication.objects.filter(programme__in=programmes).aggregate(
        created=Min("created_at"), submitted=Min("submitted_at")
    )
    this_year = timezone.localdate().year
    first = min((d.year for d in firsts.values() if d), default=this_year)
    return list(range(this_year, min(first, this_year) - 1, -1))


def _waiting_for(user: User) -> Q:
    """What waits for the user's roles; a step four-eyes forbids them is not theirs to wait for."""
    waiting = Q(pk__in=[])
    for step, queue in QUEUES:
        if user.has_role(queue.role):
            waiting |= queue.cases & ~step.four_eyes_excludes(user.pk) if step.four_eyes else queue.cases
    return waiting


def applications_waiting_for(user: User) -> QuerySet[GrantApplication]:
    """My queue: the cases that wait for a step of the user's roles, oldest first, with deadlines.

    Each case says since when it waits and which step it awaits (``awaited_step_name``), both from the registry:
    the first of the user's own queues it is in (a case may wait for the caseworker and for finance at once).
    """
    mine = [(step, queue) for step, queue in QUEUES if user.has_role(queue.role)] or list(QUEUES)
    return (
        staff_applications(user)
        .annotate(
            has_invoice=Exists(Document.objects.filter(application=OuterRef("pk"), kind=Document.Kind.INVOICE)),
            has_uncertified_invoice=Exists(
                Invoice.objects.filter(application=OuterRef("pk"), certified_at__isnull=True)
            ),
            has_unpaid_certified_invoice=Exists(
                Invoice.objects.filter(
                    application=OuterRef("pk"), certified_at__isnull=False, partial_payment__isnull=True
                )
            ),
            waiting_since=Case(
                *(When(queue.cases, then=F(queue.since)) for _, queue in mine),
                output_field=DateTimeField(),
            ),
            awaited_step_name=Case(*(When(queue.cases, then=Value(step.name)) for step, queue in mine)),
        )
        .filter(_waiting_for(user))
        .select_related("programme", "applicant", "property")
        .order_by(F("waiting_since").asc(nulls_last=True), "pk")
    )


def state_counts(user: User) -> list[tuple[str, StrOrPromise, int]]:
    """Number of visible applications per state, every state listed: (state, label, count)."""
    counts = dict(staff_applications(user).values_list("state").annotate(n=Count("pk")).order_by())
    return [(state, label, counts.get(state, 0)) for state, label in State.choices]


def pending_grants(programme_ids) -> dict[int, Decimal]:
    """What the submitted and checked applications of each programme would need if approved."""
    rows = (
        GrantApplication.objects.filter(programme_id__in=programme_ids, state__in=[State.SUBMITTED, State.CHECKED])
        .values_list("programme_id")
        .annotate(total=Sum("computed_grant"))
        .order_by()
    )
    return {programme_id: Decimal(total).quantize(CENT) for programme_id, total in rows}


def workspace_application(user: User, pk: int) -> GrantApplication:
    """One application with everything its workspace page shows; raises DoesNotExist outside the user's view."""
    return (
        staff_applications(user)
        .select_related(
            "programme__municipality",
            "applicant",
            "property",
            "consultation",
            "checked_by",
            "approved_by",
            "invoices_certified_by",
            "paid_by",
        )
        .select_related("guideline_version", "programme__current_version")
        .prefetch_related(
            "components__cost_items",
            "documents",
            "letters__notice__appeals",
            "internal_notes__author",
            "proofs__documents",
            "revocations__repayments",
            Prefetch(
                "inspections", queryset=Inspection.objects.select_related("recorded_by").prefetch_related("photos")
            ),
            Prefetch("sale_reports", queryset=SaleReport.objects.order_by("reported_at", "id")),
            "guideline_version__component_rules",
            "guideline_version__funding_area",
            "programme__current_version__component_rules",
        )
        .get(pk=pk)
    )


def programmes_with_rules(programmes: QuerySet[Programme]) -> QuerySet[Programme]:
    """Programmes with municipality and guideline in force (rules, funding area): three queries whatever the count."""
    return programmes.select_related("municipality", "current_version").prefetch_related(*CURRENT_TERMS)


def applications_with_details(applications: QuerySet[GrantApplication]) -> QuerySet[GrantApplication]:
    """Applications with programme, applicant, property, measures with cost items, extensions, changes and proofs."""
    return applications.select_related(
        "programme__municipality", "guideline_version", "applicant", "property"
    ).prefetch_related(
        Prefetch("components", queryset=MeasureComponent.objects.order_by("id")),
        Prefetch("components__cost_items", queryset=CostItem.objects.order_by("stage", "id")),
        Prefetch("extensions", queryset=DeadlineExtension.objects.order_by("requested_at", "id")),
        Prefetch("changes", queryset=ChangeRequest.objects.order_by("requested_at", "id")),
        Prefetch("invoices", queryset=Invoice.objects.order_by("issued_on", "id")),
        Prefetch("partial_payments", queryset=PartialPayment.objects.order_by("number")),
        # With their documents (one more query only where a case has a proof of use).
        Prefetch("proofs", queryset=ProofOfUse.objects.order_by("submitted_at", "id").prefetch_related("documents")),
        Prefetch("revocations", queryset=Revocation.objects.order_by("opened_at", "id").prefetch_related("repayments")),
        # The commitment period: inspections (with their photos, only where there are inspections) and sale reports.
        Prefetch("inspections", queryset=Inspection.objects.order_by("inspected_on", "id").prefetch_related("photos")),
        Prefetch("sale_reports", queryset=SaleReport.objects.order_by("reported_at", "id")),
    )


def application_history(application: GrantApplication) -> QuerySet[StateLog]:
    """Every transition of the case (who, when, from, to, comment), oldest first."""
    return StateLog.objects.for_(application).select_related("by").order_by("timestamp", "pk")


@dataclass(frozen=True)
class CheckItem:
    label: str
    ok: bool
    detail: str
    problems: tuple[str, ...] = ()  # what the check answers when the item is not met


def checklist_problems(items) -> list[str]:
    """What the unmet items of a checklist say, in its order: the words a refused check gives."""
    return [problem for item in items if not item.ok for problem in item.problems]


def submission_day(application: GrantApplication) -> date:
    """The day the application was submitted (Europe/Berlin); today for a draft never submitted."""
    if application.submitted_at is None:
        return timezone.localdate()
    return timezone.localdate(application.submitted_at)


def find_consultation(application: GrantApplication) -> Consultation | None:
    """The initial consultation of the case: the one linked, else the latest for its applicant and property.

    Of those found automatically, the latest held on or before the submission counts; only when there is
    none, a later one is returned, so that the check can say it came too late.
    """
    if application.consultation_id:
        return application.consultation
    found = Consultation.objects.filter(
        municipality=application.programme.municipality_id,
        applicant=application.applicant_id,
        property=application.property_id,
    )
    before = found.filter(held_on__lte=submission_day(application)).order_by("-held_on").first()
    return before or found.order_by("-held_on").first()


def consultation_problem(application: GrantApplication, consultation: Consultation) -> str:
    """Why a consultation does not count: held after the submission, or longer ago than the guideline allows.

    The initial consultation precedes the application (docs/domain.md, "Completeness check").
    """
    submitted = submission_day(application)
    held = {"held": consultation.held_on.strftime("%d.%m.%Y"), "submitted": submitted.strftime("%d.%m.%Y")}
    if consultation.held_on > submitted:
        return (
            _(
                "Die Erstberatung am %(held)s fand nach der Einreichung am %(submitted)s statt; sie muss vor dem "
                "Antrag liegen."
            )
            % held
        )
    max_age = application.terms().consultation_max_age_days
    if max_age is not None and (submitted - consultation.held_on).days > max_age:
        return _(
            "Die Erstberatung am %(held)s lag bei der Einreichung am %(submitted)s mehr als %(days)s Tage zurück."
        ) % {**held, "days": max_age}
    return ""


def _document_checks(application: GrantApplication) -> list[CheckItem]:
    terms = application.terms()
    kinds = [d.kind for d in application.documents.all()]
    quotes = kinds.count(Document.Kind.QUOTE)
    required = []
    if terms.photo_before_required:
        required.append(Document.Kind.PHOTO_BEFORE)
    if terms.land_register_required:
        required.append(Document.Kind.LAND_REGISTER)
    if application.applicant.standing == Applicant.Standing.TENANT:
        required.append(Document.Kind.OWNER_CONSENT)
    missing = [_("Es fehlt: %(kind)s.") % {"kind": Document.Kind(kind).label} for kind in required if kind not in kinds]
    counted = {"have": quotes, "need": terms.quotes_required}
    return [
        CheckItem(
            _("Angebote"),
            quotes >= terms.quotes_required,
            _("%(have)s von %(need)s liegen vor.") % counted,
            (_("Angebote: %(have)s von %(need)s liegen vor.") % counted,),
        ),
        CheckItem(_("Unterlagen"), not missing, " ".join(missing) or _("Alle Unterlagen liegen vor."), tuple(missing)),
    ]


def missing_documents(application: GrantApplication) -> list[str]:
    """The documents the check still misses, quotes first, in words for the applicant."""
    return checklist_problems(_document_checks(application))


def funding_area_check(application: GrantApplication) -> CheckItem:
    """Does the property lie in the programme's funding area (asked at submission and at the check)?"""
    prop = application.property
    in_area = application.terms().covers(prop.street, prop.house_number)
    outside = _("Das Grundstück liegt nicht im Fördergebiet.")
    return CheckItem(
        _("Fördergebiet"), in_area, _("Das Grundstück liegt im Fördergebiet.") if in_area else outside, (outside,)
    )


def completeness_checklist(application: GrantApplication) -> list[CheckItem]:
    """The completeness check (Vollständigkeitsprüfung) as a list: the one source of the check's problems."""
    terms = application.terms()
    consultation = find_consultation(application)
    early = bool(application.works_started_on and not application.early_start_permitted)
    too_late = consultation_problem(application, consultation) if consultation and terms.consultation_required else ""
    if too_late:
        consultation_detail = too_late
    elif consultation:
        consultation_detail = _("Erstberatung am %(date)s durch %(adviser)s") % {
            "date": consultation.held_on.strftime("%d.%m.%Y"),
            "adviser": consultation.adviser,
        }
    elif terms.consultation_required:
        consultation_detail = _("Keine Erstberatung erfasst; das Programm verlangt sie.")
    else:
        consultation_detail = _("Das Programm verlangt keine Erstberatung.")
    return [
        *_document_checks(application),
        funding_area_check(application),
        CheckItem(
            _("Erstberatung"),
            not terms.consultation_required or (consultation is not None and not too_late),
            consultation_detail,
            (too_late or _("Die vorgeschriebene Erstberatung ist nicht erfasst."),),
        ),
        CheckItem(
            _("Kein vorzeitiger Maßnahmebeginn"),
            not early,
            _("Mit der Maßnahme wurde vor der Bewilligung begonnen.")
            if early
            else _("Kein Beginn vor der Bewilligung."),
            (_("Mit der Maßnahme wurde vor der Bewilligung begonnen (vorzeitiger Maßnahmebeginn)."),),
        ),
        CheckItem(
            _("Zuschuss errechnet"),
            application.computed_grant > 0,
            _("Nach der Förderrichtlinie ergibt sich ein Zuschuss.")
            if application.computed_grant > 0
            else _("Nach der Förderrichtlinie ergibt sich kein Zuschuss."),
            (_("Nach der Förderrichtlinie ergibt sich kein Zuschuss."),),
        ),
    ]


def consultation_candidates(application: GrantApplication) -> list[Consultation]:
    """Consultations of the municipality at the same address or for the same name, to link by hand."""
    prop = application.property
    candidates = (
        Consultation.objects.filter(municipality=application.programme.municipality_id)
        .filter(
            Q(property__house_number__iexact=prop.house_number.strip())
            | Q(applicant__name__iexact=application.applicant.name)
        )
        .select_related("applicant", "property")
        .order_by("-held_on")[:20]
    )
    street = _normalise_street(prop.street)
    return [
        c
        for c in candidates
        if _normalise_street(c.property.street) == street
        or c.applicant.name.lower() == application.applicant.name.lower()
    ]


# --- the owner portal ---------------------------------------------------------------------


def owner_applications(user: User) -> QuerySet[GrantApplication]:
    """The owner's own applications, newest first, with what "my applications" shows."""
    return (
        visible_applications(user)
        .filter(applicant__user=user)
        .select_related("programme__municipality", "property")
        .order_by("-created_at", "-pk")
    )


def owner_application(user: User, pk: int) -> GrantApplication:
    """One of the owner's applications with everything its pages show; DoesNotExist for anyone else's."""
    return (
        visible_applications(user)
        .filter(applicant__user=user)
        .select_related(
            "programme__municipality", "programme__current_version", "guideline_version", "applicant", "property"
        )
        .prefetch_related(
            "components__cost_items",
            "documents",
            "letters__notice__appeals",
            "proofs__documents",
            "revocations__repayments",
            Prefetch("sale_reports", queryset=SaleReport.objects.order_by("reported_at", "id")),
            "guideline_version__component_rules",
            "programme__current_version__component_rules",
        )
        .get(pk=pk)
    )


def return_message(application: GrantApplication) -> StateLog | None:
    """The caseworker's message when the case came back to the owner and is still a draft, else None."""
    if application.state != State.DRAFT:
        return None
    last = StateLog.objects.for_(application).order_by("-timestamp", "-pk").first()
    return last if last is not None and last.transition == "return_to_applicant" else None


def returned_proof(application: GrantApplication) -> ProofOfUse | None:
    """The owner's latest proof of use when the caseworker gave it back for completion, else None."""
    latest = application.proofs.order_by("-submitted_at", "-id").first()
    return latest if latest is not None and latest.outcome == ProofOfUse.Outcome.RETURNED else None


def grant_preview(application: GrantApplication, components) -> GrantResult:
    """The grant the guideline would give for costs entered but not saved (``ComponentInput``s)."""
    return application.compute_for((c, c.costs) for c in components)


def programmes_covering(programmes, *, street: str, house_number: str) -> list[Programme]:
    """Which of the programmes fund a property at this address (the quick funding-area check)."""
    return [p for p in programmes if p.covers(street, house_number)]


def budget_at_a_glance(user: User, *, year: int) -> list[dict]:
    """The allocations of the year with their balance and what pending applications would need."""
    allocations = list(visible_allocations(user).filter(year=year).select_related("programme"))
    balances = balances_of(allocations)
    pending = pending_grants([a.programme_id for a in allocations])
    return [
        {
            "allocation": a,
            "balance": balances[a.pk],
            "pending": pending.get(a.programme_id, ZERO),
            "short": pending.get(a.programme_id, ZERO) > balances[a.pk].available,
        }
        for a in allocations
    ]
