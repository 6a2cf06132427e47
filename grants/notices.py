"""A notice's sending and the dates that follow from it, kept on its row (grants.models.Notice).

The computing is grants.finality's; here the rows are read and written. grants.services (the staff's and owner's
writes) and grants.notifications (the e-mail that sends a notice) both record through these functions.
"""

from __future__ import annotations

from datetime import date

from applicants.models import User

from . import finality
from .models import DeemedNotificationRule, Notice


def deemed_rules() -> list[finality.DeemedRule]:
    return [
        finality.DeemedRule(rule.jurisdiction, rule.valid_from, rule.days)
        for rule in DeemedNotificationRule.objects.all()
    ]


def state_of(notice: Notice) -> str:
    return notice.letter.application.programme.municipality.state


def notice_refresh(notice: Notice) -> Notice:
    """Compute the day the notice becomes final again from its deadline, its waiver and its appeals; save."""
    notice.final_on = finality.final_on(
        deadline=notice.appeal_deadline,
        waiver_on=notice.waiver_on,
        appeals=notice.appeals.values_list("outcome", "decided_on"),
    )
    notice.save()
    return notice


def mark_sent(notice: Notice, *, via: str, on: date, by: User | None) -> Notice:
    """The sending, and the dates that follow from it under the rule valid on that day (kept as computed then)."""
    state = state_of(notice)
    notice.sent_via, notice.sent_on, notice.sent_recorded_by = via, on, by
    notice.deemed_days = None if via == Notice.Via.PORTAL else finality.deemed_days(deemed_rules(), state, on)
    notice.notified_on = finality.notified_on(via, on, state, notice.deemed_days or 0)
    notice.appeal_deadline = finality.appeal_deadline(notice.notified_on, state, remedy_notice=notice.remedy_notice)
    return notice_refresh(notice)


def notice_sent_by_email(*, letter_id: int, on: date) -> bool:
    """The e-mail with the notice is going out (grants.notifications): it counts as sent that day, unless sent before.

    Runs inside the e-mail's claim, so a mail server that refuses takes it back (``notice_email_failed``).
    """
    notice = (
        Notice.objects.select_for_update(of=("self",))
        .select_related("letter__application__programme__municipality")
        .filter(letter_id=letter_id, sent_on__isnull=True)
        .first()
    )
    if notice is None:
        return False
    mark_sent(notice, via=Notice.Via.EMAIL, on=on, by=None)
    return True


def notice_email_failed(*, letter_id: int, on: date) -> None:
    """The e-mail did not go out after all: the sending it recorded is undone."""
    Notice.objects.filter(letter_id=letter_id, sent_via=Notice.Via.EMAIL, sent_on=on).update(
        sent_via="", sent_on=None, deemed_days=None, notified_on=None, appeal_deadline=None, final_on=None
    )
