"""Who may do what with an application: one place, asked by pages, API, admin and services.

``decide`` answers with a reason a page can show. ``visible_applications`` is the
queryset every list starts from; an application outside it is "not found", alike
whether it is missing or belongs to someone else.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from applicants.models import Applicant, Role
from core.decisions import ALLOWED, Decision
from core.tenancy import may_use_workspace

from .models import Document, GrantApplication, Programme

# The one role (besides the owner) allowed to perform each action.
STAFF_ROLE_FOR = {
    "return_to_applicant": {Role.CASEWORKER},
    "check": {Role.CASEWORKER},
    "approve": {Role.APPROVER},
    "reject": {Role.CASEWORKER, Role.APPROVER},
    "withdraw": {Role.CASEWORKER},
    "certify_invoices": {Role.CASEWORKER},
    "pay": {Role.FINANCE},
    "document": {Role.CASEWORKER},
    # Workspace actions that are not transitions; the auditor holds none of them (read only).
    "note": {Role.CASEWORKER, Role.APPROVER, Role.FINANCE},
    "link_consultation": {Role.CASEWORKER},
    # Auskunft nach Art. 15 DSGVO about the case's applicant, limited to the municipality's cases.
    "export_personal_data": {Role.CASEWORKER},
}
OWNER_ACTIONS = {"edit", "submit", "withdraw"}


def is_owner(user, application: GrantApplication) -> bool:
    return user.is_authenticated and application.applicant.user_id == user.pk


def is_staff_of(user, application: GrantApplication) -> bool:
    return (
        user.is_authenticated
        and user.is_municipal_staff
        and application.programme.municipality_id in user.municipality_ids
    )


def decide(user, action: str, application: GrantApplication) -> Decision:
    """May ``user`` perform ``action`` on ``application``? The state is the service's concern."""
    if not user.is_authenticated:
        return Decision(False, _("Bitte melden Sie sich an."))
    if action == "view":
        return (
            ALLOWED
            if is_owner(user, application) or is_staff_of(user, application)
            else Decision(False, _("Antrag nicht gefunden."))
        )
    if is_owner(user, application):
        if action in OWNER_ACTIONS:
            return ALLOWED
        # Staff who apply themselves are owners of that case, never its caseworker or approver.
        return Decision(False, _("An Ihrem eigenen Antrag wirken Sie nicht als Verwaltung mit."))
    roles = STAFF_ROLE_FOR.get(action, set())
    if not (is_staff_of(user, application) and any(user.has_role(role) for role in roles)):
        return Decision(False, _("Ihre Rolle erlaubt diesen Schritt nicht."))
    if action == "approve" and application.checked_by_id == user.pk:
        return Decision(
            False, _("Sie haben diesen Antrag geprüft; die Bewilligung muss eine andere Person aussprechen.")
        )
    if action == "pay" and application.invoices_certified_by_id == user.pk:
        return Decision(
            False,
            _(
                "Sie haben die Schlussrechnung als sachlich richtig bestätigt; "
                "die Auszahlung muss eine andere Person freigeben."
            ),
        )
    return ALLOWED


def visible_applications(user) -> QuerySet[GrantApplication]:
    """Applications the user may see: their own, and as staff those of their municipalities."""
    if not user.is_authenticated:
        return GrantApplication.objects.none()
    # Subqueries rather than joins, as in staff_applications: the COUNT of a page reads one table.
    condition = Q(applicant__in=Applicant.objects.filter(user=user).values("pk"))
    if user.is_municipal_staff:
        condition |= Q(programme__in=Programme.objects.filter(municipality__in=user.municipality_ids).values("pk"))
    return GrantApplication.objects.filter(condition)


def staff_applications(user) -> QuerySet[GrantApplication]:
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
    GrantApplication.State.APPROVED: (Document.Kind.INVOICE, Document.Kind.PHOTO_AFTER, Document.Kind.OTHER),
    GrantApplication.State.PAID: (Document.Kind.PHOTO_AFTER,),
}


def upload_kinds(user, application: GrantApplication) -> tuple[str, ...]:
    """The kinds of document ``user`` may upload to ``application`` now; none for anyone but the owner."""
    if not is_owner(user, application):
        return ()
    return OWNER_UPLOAD_KINDS.get(application.state, ())


@dataclass(frozen=True)
class OwnerSteps:
    edit: bool
    withdraw: bool
    upload_kinds: tuple[str, ...]


def owner_steps(user, application: GrantApplication) -> OwnerSteps:
    """What the owner may do on their case page now: the state graph and ``decide`` together."""
    possible = {t.name for t in application.get_available_state_transitions()}
    return OwnerSteps(
        edit=application.state == GrantApplication.State.DRAFT and decide(user, "edit", application).allowed,
        withdraw="withdraw" in possible and is_owner(user, application),
        upload_kinds=upload_kinds(user, application),
    )


# Who words and makes letters: the people who sign them. Finance and auditors read them.
LETTER_ROLES = (Role.CASEWORKER, Role.APPROVER)


def may_manage_letters(user) -> bool:
    """Edit the letter wording of one's municipalities and have letters made for many cases at once."""
    return may_use_workspace(user) and any(user.has_role(role) for role in LETTER_ROLES)


# The steps a workspace page may offer, in the order it shows them.
WORKSPACE_STEPS = (
    "check",
    "approve",
    "certify_invoices",
    "pay",
    "document",
    "return_to_applicant",
    "reject",
    "withdraw",
)
_ACTION_FOR_METHOD = {"mark_checked": "check"}


@dataclass(frozen=True)
class Steps:
    allowed: list[str]
    refused: list[tuple[str, str]]  # (action, reason) the user's role covers but four-eyes forbids now


def workspace_steps(user, application: GrantApplication) -> Steps:
    """The steps ``user`` may take on ``application`` now: the state graph and ``decide`` together.

    Certifying final invoices is possible while approved; paying needs them certified first.
    A step the user's role covers but four-eyes refuses is returned with its reason, so the
    page can say why the button is missing.
    """
    possible = {_ACTION_FOR_METHOD.get(t.name, t.name) for t in application.get_available_state_transitions()}
    if application.state == GrantApplication.State.APPROVED:
        possible.add("certify_invoices")
        if application.payable_amount is None:
            possible.discard("pay")
    allowed, refused = [], []
    for action in WORKSPACE_STEPS:
        if action not in possible:
            continue
        decision = decide(user, action, application)
        if decision:
            allowed.append(action)
        elif is_staff_of(user, application) and any(user.has_role(r) for r in STAFF_ROLE_FOR[action]):
            refused.append((action, decision.reason))
    return Steps(allowed, refused)


def visible_programmes(user) -> QuerySet[Programme]:
    """Programmes the user may see: staff those of their municipalities, everyone else all (they are public)."""
    if not user.is_authenticated:
        return Programme.objects.none()
    if user.is_municipal_staff:
        return Programme.objects.filter(municipality__in=user.municipality_ids)
    return Programme.objects.all()
