"""The waiting list (Warteliste): checked cases the money cannot carry, in the order they were found complete.

Every checked case of a programme waits for this year's allocation in the order of its completeness check
(``checked_at``, then the file's id): a case may be approved only when the allocation carries it after
everything that waits before it (docs/domain.md, "Waiting list"). The order is strict — first complete,
first funded — so money a release frees goes to the head of the list; a case leaves the list when it is
approved, rejected, returned or withdrawn. The check runs under the allocation's row lock, so that
concurrent approvals and releases keep the order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Q
from django.db.models.functions import Coalesce, Least
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from applicants.models import Role, User
from budgets.models import Allocation
from budgets.selectors import allocation_balance
from core.money import ZERO, format_amount
from core.tasks import enqueue_on_commit

from .models import GrantApplication

if TYPE_CHECKING:
    from collections.abc import Iterable

State = GrantApplication.State
ORDER = ("checked_at", "pk")
# What a case's approval would commit (GrantApplication.grant_due): the computed grant, capped by a de-minimis cut.
DUE = Least("computed_grant", Coalesce("deminimis_reduced_to", "computed_grant"))


@dataclass(frozen=True)
class Place:
    application: GrantApplication
    position: int  # 1 = the head of the list
    ahead: Decimal  # what the cases before it need
    fits: bool  # this year's allocation carries it after those before it
    grant: Decimal = ZERO  # what its approval would commit


def _ahead_of(application: GrantApplication) -> Q:
    return Q(checked_at__lt=application.checked_at) | Q(checked_at=application.checked_at, pk__lt=application.pk)


def available_now(programme_id: int, *, year: int | None = None) -> Decimal | None:
    """What this year's allocation of the programme has free; None without one."""
    allocation = Allocation.objects.filter(programme_id=programme_id, year=year or timezone.localdate().year).first()
    return None if allocation is None else allocation_balance(allocation).available


def queue(programme_id: int, *, available: Decimal | None = None) -> list[Place]:
    """The programme's checked cases in order, each with what waits before it and whether the money carries it."""
    if available is None:
        available = available_now(programme_id) or ZERO
    cases = (
        GrantApplication.objects.filter(programme_id=programme_id, state=State.CHECKED)
        .select_related("applicant", "property")
        .order_by(*ORDER)
    )
    places, ahead = [], ZERO
    for position, application in enumerate(cases, start=1):
        grant = application.grant_due() or ZERO
        places.append(Place(application, position, ahead, ahead + grant <= available, grant))
        ahead += grant
    return places


def place_of(application: GrantApplication) -> Place | None:
    """The case's place on the waiting list, when it is checked and the money does not carry it; else None."""
    if application.state != State.CHECKED or application.checked_at is None:
        return None
    available = available_now(application.programme_id)
    before = GrantApplication.objects.filter(programme_id=application.programme_id, state=State.CHECKED).filter(
        _ahead_of(application)
    )
    ahead = sum((c or ZERO for c in before.annotate(due=DUE).values_list("due", flat=True)), ZERO)
    fits = available is not None and ahead + (application.grant_due() or ZERO) <= available
    if fits:
        return None
    return Place(application, before.count() + 1, ahead, False, application.grant_due() or ZERO)


def order_problem(application: GrantApplication, *, available: Decimal) -> str | None:
    """Why approving the case now would pass over cases before it; None when it does not.

    Called under the allocation's row lock (grants.services.application_approve).
    """
    before = GrantApplication.objects.filter(programme_id=application.programme_id, state=State.CHECKED).filter(
        _ahead_of(application)
    )
    grants = [c or ZERO for c in before.annotate(due=DUE).values_list("due", flat=True)]
    ahead = sum(grants, ZERO)
    grant = application.grant_due() or ZERO
    if not grants or ahead + grant <= available:
        return None
    return _(
        "Warteliste: Vor diesem Antrag warten %(count)s geprüfte Anträge mit zusammen %(ahead)s € auf Mittel; "
        "verfügbar sind %(available)s €. Bewilligt wird in der Reihenfolge, in der die Anträge vollständig "
        "geprüft wurden."
    ) % {"count": len(grants), "ahead": format_amount(ahead), "available": format_amount(max(available, ZERO))}


def tell_owner_if_waiting(application: GrantApplication) -> None:
    """After the check: when the money does not carry the case, the owner hears it waits, and why (once)."""
    if place_of(application) is not None:
        from .tasks import notify_waiting  # the tasks build on the services

        enqueue_on_commit(notify_waiting, application_id=application.pk)


def send_waiting_notice(application_id: int) -> bool:
    """The owner's e-mail that the case waits for money: its place and the reason. Sent once per case."""
    from .notifications import email_send_once, owner_address

    application = GrantApplication.objects.select_related("programme__municipality", "applicant").get(pk=application_id)
    place = place_of(application)
    if place is None:
        return False
    with translation.override("de"):
        body = render_to_string(
            "emails/waiting.txt",
            {"application": application, "place": place, "ahead": format_amount(place.ahead)},
        )
    return bool(
        email_send_once(
            key=f"waiting:{application.pk}",
            to=[owner_address(application)],
            subject=f"Ihr Antrag {application.file_number} wartet auf Fördermittel",
            body=body,
            application=application,
        )
    )


def offer_waiting(programme_ids: Iterable[int]) -> int:
    """After money was released: offer the approvers the waiting cases the allocation now carries, in order.

    Each case is offered once (the e-mail's key); the waiting list page shows the same at any time.
    """
    from .notifications import email_send_once

    sent = 0
    for programme_id in sorted(set(programme_ids)):
        fitting = [p for p in queue(programme_id) if p.fits]
        if not fitting:
            continue
        municipality = fitting[0].application.programme.municipality_id
        approvers = list(
            User.objects.filter(is_active=True, municipalities=municipality, groups__name=Role.APPROVER)
            .order_by("pk")
            .values_list("email", flat=True)
        )
        for place in fitting:
            application = place.application
            with translation.override("de"):
                body = render_to_string(
                    "emails/waiting_offer.txt",
                    {
                        "application": application,
                        "place": place,
                        "grant": format_amount(application.grant_due() or ZERO),
                    },
                )
            sent += bool(
                email_send_once(
                    key=f"waiting-offer:{application.pk}:{application.checked_at:%Y%m%d%H%M%S%f}",
                    to=approvers,
                    subject=f"Mittel frei: Antrag {application.file_number} kann bewilligt werden",
                    body=body,
                    application=application,
                )
            )
    return sent
