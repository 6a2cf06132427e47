"""Who may do what with an application: one place, asked by pages, API, admin and services.

``decide`` answers with a reason a page can show. ``visible_applications`` is the
queryset every list starts from; an application outside it is "not found", alike
whether it is missing or belongs to someone else.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from applicants.models import Applicant, Role, User
from core.decisions import ALLOWED, Decision
from core.tenancy import may_use_workspace

from .models import Document, GrantApplication, Programme
from .steps import STEPS, WORKSPACE_STEPS, available_steps


def is_owner(user: User, application: GrantApplication) -> bool:
    return user.is_authenticated and application.applicant.user_id == user.pk


def is_staff_of(user: User, application: GrantApplication) -> bool:
    return (
        user.is_authenticated
        and user.is_municipal_staff
        and application.programme.municipality_id in user.municipality_ids
    )


def decide(user: User, action: str, application: GrantApplication) -> Decision:
    """May ``user`` perform ``action`` on ``application``? The state is the service's concern."""
    if not user.is_authenticated:
        return Decision(False, _("Bitte melden Sie sich an."))
    if action == "view":
        return (
            ALLOWED
            if is_owner(user, application) or is_staff_of(user, application)
            else Decision(False, _("Antrag nicht gefunden."))
        )
    step = STEPS.get(action)
    if is_owner(user, application):
        if step is not None and step.owner:
            return ALLOWED
        # Staff who apply themselves are owners of that case, never its caseworker or approver.
        return Decision(False, _("An Ihrem eigenen Antrag wirken Sie nicht als Verwaltung mit."))
    if step is None or not (is_staff_of(user, application) and step.held_by(user)):
        return Decision(False, _("Ihre Rolle erlaubt diesen Schritt nicht."))
    if step.four_eyes_refuses(application, user.pk):
        return Decision(False, str(step.four_eyes_reason))
    return ALLOWED


def visible_applications(user: User) -> QuerySet[GrantApplication]:
    """Applications the user may see: their own, and as staff those of their municipalities."""
    if not user.is_authenticated:
        return GrantApplication.objects.none()
    # Subqueries rather than joins, as in staff_applications: the COUNT of a page reads one table.
    condition = Q(applicant__in=Applicant.objects.filter(user=user).values("pk"))
    if user.is_municipal_staff:
        condition |= Q(programme__in=Programme.objects.filter(municipality__in=user.municipality_ids).values("pk"))
    return GrantApplication.objects.filter(condition)


def staff_applications(user: User) -> QuerySet[GrantApplication]:
    """The workspace's applications: those of the user's municipalities, never the staff member's own."""
    if not (user.is_authenticated and user.is_municipal_staff):
        return GrantApplication.objects.none()
    # Subqueries rather than joins: a list's COUNT then reads the application table alone (issue 8's figures).
    programmes = Programme.objects.filter(municipality__in=user.municipality_ids).values("pk")
    own = Applicant.objects.filter(user=user).values("pk")
    return GrantApplication.objects.filter(programme__in=programmes).exclude(applicant__in=own)


# What an owner may hand in, by state: the application's documents while it is a draft; once
# approved, the final invoices and the photos after the works; after payment, photos still.
OWNER_UPLOAD_KINDS = {
    GrantApplication.State.DRAFT: (
        Document.Kind.QUOTE,
        Document.Kind.PHOTO_BEFORE,
        Document.Kind.LAND_REGISTER,
        Document.Kind.OWNER_CONSENT,
        Document.Kind.OTHER,
    ),
    GrantApplication.State.APPROVED: (
        Document.Kind.INVOICE,
        Document.Kind.PHOTO_AFTER,
        Document.Kind.CHANGE,
        Document.Kind.OTHER,
    ),
    GrantApplication.State.PAID: (Document.Kind.PHOTO_AFTER,),
}


def upload_kinds(user: User, application: GrantApplication) -> tuple[str, ...]:
    """The kinds of document ``user`` may upload to ``application`` now; none for anyone but the owner."""
    if not is_owner(user, application):
        return ()
    return OWNER_UPLOAD_KINDS.get(application.state, ())


@dataclass(frozen=True)
class OwnerSteps:
    edit: bool
    withdraw: bool
    upload_kinds: tuple[str, ...]
    request_extension: bool = False
    request_change: bool = False
    record_invoice: bool = False
    submit_proof: bool = False
    answer_hearing: bool = False
    report_sale: bool = False


def owner_steps(user: User, application: GrantApplication) -> OwnerSteps:
    """What the owner may do on their case page now: the state graph and ``decide`` together."""
    possible = available_steps(application)
    return OwnerSteps(
        edit=application.state == GrantApplication.State.DRAFT and decide(user, "edit", application).allowed,
        withdraw="withdraw" in possible and is_owner(user, application),
        upload_kinds=upload_kinds(user, application),
        request_extension="request_extension" in possible and is_owner(user, application),
        request_change="request_change" in possible and is_owner(user, application),
        record_invoice="record_invoice" in possible and is_owner(user, application),
        submit_proof="submit_proof" in possible and is_owner(user, application),
        answer_hearing="answer_hearing" in possible and is_owner(user, application),
        report_sale="report_sale" in possible and is_owner(user, application),
    )


# Who words and makes letters: the people who sign them. Finance and auditors read them.
LETTER_ROLES = (Role.CASEWORKER, Role.APPROVER)


def may_manage_letters(user: User) -> bool:
    """Edit the letter wording of one's municipalities and have letters made for many cases at once."""
    return may_use_workspace(user) and any(user.has_role(role) for role in LETTER_ROLES)


@dataclass(frozen=True)
class Steps:
    allowed: list[str]
    refused: list[tuple[str, str]]  # (action, reason) the user's role covers but four-eyes forbids now


def workspace_steps(user: User, application: GrantApplication) -> Steps:
    """The steps ``user`` may take on ``application`` now: the state graph and ``decide`` together.

    The state graph includes the transitions' conditions: paying needs the final invoices certified first.
    A step the user's role covers but four-eyes refuses is returned with its reason, so the
    page can say why the button is missing.
    """
    possible = available_steps(application)
    allowed, refused = [], []
    for step in WORKSPACE_STEPS:
        if step.name not in possible:
            continue
        decision = decide(user, step.name, application)
        if decision:
            allowed.append(step.name)
        elif is_staff_of(user, application) and step.held_by(user):
            refused.append((step.name, decision.reason))
    return Steps(allowed, refused)


def visible_programmes(user: User) -> QuerySet[Programme]:
    """Programmes the user may see: staff those of their municipalities, everyone else all (they are public)."""
    if not user.is_authenticated:
        return Programme.objects.none()
    if user.is_municipal_staff:
        return Programme.objects.filter(municipality__in=user.municipality_ids)
    return Programme.objects.all()
