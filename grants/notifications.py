"""E-mails to owners and staff. Each has a key, so a retried task sends nothing twice."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django_fsm_log.models import StateLog

from applicants.models import Role, User

from .letters import certificate_ensure, letter_ensure
from .models import GrantApplication, Letter, OutboundEmail
from .notices import notice_email_failed, notice_sent_by_email
from .selectors import applications_waiting_for
from .steps import LETTER_FOR_TRANSITION, NEXT_STEP, NOTIFIED_TRANSITIONS, step_of_transition

logger = logging.getLogger(__name__)
State = GrantApplication.State


def owner_address(application: GrantApplication) -> str:
    applicant = application.applicant
    return applicant.email or (applicant.user.email if applicant.user_id else "")


def email_send_once(
    *, key: str, to: list[str], subject: str, body: str, application=None, letter: Letter | None = None
) -> OutboundEmail | None:
    """Send an e-mail unless one with this key went out already; returns the record only when it sent.

    The record is claimed (``sent_at`` set and committed) before the mail server is called, and the
    claim is given back only when sending raises an error. There is no step left after the server took
    the mail that could fail and make a retry send it again; a worker killed (not an error) in the
    middle of sending leaves it claimed: at most one e-mail, and the letter stays in the portal.
    """
    to = [address for address in to if address]
    if not to:
        return None
    with transaction.atomic():
        record, _ = OutboundEmail.objects.select_for_update().get_or_create(
            key=key,
            defaults={
                "to": ", ".join(to),
                "subject": subject[:300],
                "body": body,
                "application": application,
                "letter": letter,
            },
        )
        if record.sent_at:
            return None
        record.sent_at = timezone.now()
        record.save(update_fields=["sent_at"])
        # A notice e-mailed counts as sent today (§ 41 (2) VwVfG), in the same claim: given back with it.
        sent_notice = letter is not None and notice_sent_by_email(
            letter_id=letter.pk, on=timezone.localdate(record.sent_at)
        )
    try:
        message = EmailMessage(record.subject, record.body, settings.DEFAULT_FROM_EMAIL, to)
        if letter:
            with letter.file.open("rb") as pdf:
                message.attach(letter.file.name.rsplit("/", 1)[-1], pdf.read(), "application/pdf")
        message.send()
    except Exception:
        # The server refused or was not reached: give the claim back so that a retry sends it.
        with transaction.atomic():
            OutboundEmail.objects.filter(pk=record.pk).update(sent_at=None)
            if sent_notice and letter is not None:
                notice_email_failed(letter_id=letter.pk, on=timezone.localdate(record.sent_at))
        raise
    return record


def notify_transition(*, state_log_id: int) -> tuple[Letter | None, OutboundEmail | None]:
    """After a state change: make its letter (where there is one) and e-mail the owner."""
    log = StateLog.objects.select_related("by").get(pk=state_log_id)
    application = (
        GrantApplication.objects.select_related("programme__municipality", "applicant__user", "property")
        .prefetch_related("components")
        .get(pk=log.object_id)
    )
    letter = None
    kind = LETTER_FOR_TRANSITION.get(log.transition)
    if kind:
        letter, _ = letter_ensure(
            application_id=application.pk,
            kind=kind,
            key=f"{kind}:log-{log.pk}",
            comment=log.description or "",
            by=log.by,
        )
        certificate_ensure(application, kind=kind, log=log)
    step = step_of_transition(log.transition)
    comment = (log.description or "") if step is None or step.comment_to_applicant else ""
    with translation.override("de"):
        state = GrantApplication.State(log.state)
        body = render_to_string(
            "emails/transition.txt",
            {
                "application": application,
                "state": state.label,
                "next_step": step.tells_owner if step is not None else NEXT_STEP.get(state, ""),
                "comment": comment,
                "letter": letter,
            },
        )
        # A step that keeps the state (a deadline extension) names itself; the others name the state reached.
        headline = step.history_label if step is not None and log.source_state == log.state else ""
        subject = f"Ihr Antrag {application.file_number or application.pk}: {headline or state.label}"
    email = email_send_once(
        key=f"transition:log-{log.pk}",
        to=[owner_address(application)],
        subject=subject,
        body=body,
        application=application,
        letter=letter,
    )
    return letter, email


def notify_missed_transitions(
    *, within: timedelta = timedelta(days=3), settle: timedelta = timedelta(minutes=10)
) -> int:
    """Make up the letters and e-mails of recent transitions whose task never ran or failed; returns how many.

    A transition queues its notification only after it commits. When the broker was down at that
    moment, or the task failed for good, the transition stands and this sweep (Celery beat) runs
    the notification again: the keys of letter and e-mail make it happen exactly once. Transitions
    younger than ``settle`` are left to their own task.
    """
    now = timezone.now()
    logs = list(
        StateLog.objects.filter(content_type=ContentType.objects.get_for_model(GrantApplication))
        .filter(transition__in=NOTIFIED_TRANSITIONS, timestamp__gte=now - within, timestamp__lte=now - settle)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    sent = set(
        OutboundEmail.objects.filter(
            key__in=[f"transition:log-{pk}" for pk in logs], sent_at__isnull=False
        ).values_list("key", flat=True)
    )
    made = 0
    for pk in logs:
        if f"transition:log-{pk}" in sent:
            continue
        try:
            _, email = notify_transition(state_log_id=pk)
        except Exception:  # one broken case must not keep the others waiting
            logger.exception("Notification of state log %s failed again.", pk)
            continue
        made += email is not None
    return made


def send_daily_digests(*, on=None) -> int:
    """Each member of staff gets one e-mail a day listing what waits for them."""
    on = on or timezone.localdate()
    sent = 0
    staff = User.objects.filter(
        is_active=True, municipalities__isnull=False, groups__name__in=[Role.CASEWORKER, Role.APPROVER, Role.FINANCE]
    ).distinct()
    for user in staff:
        waiting = list(applications_waiting_for(user))
        if not waiting:
            continue
        with translation.override("de"):
            body = render_to_string("emails/digest.txt", {"user": user, "waiting": waiting, "on": on})
        if email_send_once(
            key=f"digest:{user.pk}:{on.isoformat()}",
            to=[user.email],
            subject=f"Förderdesk: {len(waiting)} Vorgänge warten auf Sie",
            body=body,
        ):
            sent += 1
    return sent


def send_reminders(*, on=None) -> int:
    """Deadline reminders: completion in four weeks, final invoices overdue, a submitted case untouched for 14 days.

    A reminder's key holds the deadline it reminds of: after a deadline extension the new date is reminded of again.
    """
    on = on or timezone.localdate()
    sent = 0
    approved = GrantApplication.objects.filter(state=State.APPROVED).select_related(
        "applicant__user", "programme__municipality"
    )
    for application in approved.filter(completion_deadline__lte=on + timedelta(weeks=4), completion_deadline__gte=on):
        sent += bool(
            email_send_once(
                key=f"reminder:completion:{application.pk}:{application.completion_deadline:%Y-%m-%d}",
                to=[owner_address(application)],
                subject=f"Erinnerung: Ihre Maßnahme {application.file_number} ist bis zum "
                f"{application.completion_deadline:%d.%m.%Y} abzuschließen",
                body=render_to_string("emails/reminder_completion.txt", {"application": application}),
                application=application,
            )
        )
    for application in approved.filter(invoice_deadline__lt=on, invoices_certified_at__isnull=True):
        sent += bool(
            email_send_once(
                key=f"reminder:invoices-overdue:{application.pk}:{application.invoice_deadline:%Y-%m-%d}",
                to=[owner_address(application)],
                subject=f"Schlussrechnungen zu {application.file_number} überfällig",
                body=render_to_string("emails/reminder_invoices.txt", {"application": application}),
                application=application,
            )
        )
    cutoff = timezone.now() - timedelta(days=14)
    for application in GrantApplication.objects.filter(state=State.SUBMITTED).select_related("programme__municipality"):
        last = StateLog.objects.for_(application).order_by("-timestamp").first()
        if last is None or last.timestamp > cutoff:
            continue
        caseworkers = User.objects.filter(
            is_active=True, municipalities=application.programme.municipality_id, groups__name=Role.CASEWORKER
        )
        sent += bool(
            email_send_once(
                key=f"reminder:untouched:{application.pk}:log-{last.pk}",
                to=[u.email for u in caseworkers],
                subject=f"Seit 14 Tagen unbearbeitet: {application.file_number}",
                body=render_to_string(
                    "emails/reminder_untouched.txt", {"application": application, "since": last.timestamp}
                ),
                application=application,
            )
        )
    return sent


# A yearly reminder is sent on the first run on or after the day its commitment year begins, within this window.
COMMITMENT_REMINDER_WINDOW = timedelta(days=60)


def send_commitment_reminders(*, on=None) -> int:
    """Once in every year of a commitment period, and once at its end, tell the municipality's caseworkers.

    The yearly reminder names the year, the end and the last inspection, so that the case is checked; the last one
    says the period ended and the commitment counts as fulfilled. Cases with a revocation case are left out: they are
    in the caseworkers' queues already.
    """
    from dateutil.relativedelta import relativedelta
    from django.db.models import Max

    from .commitment import year_of_period  # it builds on the services, which send through this module

    on = on or timezone.localdate()
    sent = 0
    cases = (
        GrantApplication.objects.filter(
            state__in=("paid", "documented"),
            open_revocation__isnull=True,
            commitment_from__isnull=False,
            commitment_from__lte=on - relativedelta(years=1),
            commitment_until__gte=on - COMMITMENT_REMINDER_WINDOW,
        )
        .exclude(revocations__outcome__in=("revoked", "withdrawn"))
        .select_related("programme__municipality")
        .annotate(last_inspection=Max("inspections__inspected_on"))
    )
    caseworkers: dict[int, list[str]] = {}
    for application in cases.iterator():
        ended = on > application.commitment_until
        year = year_of_period(application, on)
        if year is None or on - year.began > COMMITMENT_REMINDER_WINDOW:
            continue
        number, years = year.number - 1, year.of
        municipality = application.programme.municipality_id
        if municipality not in caseworkers:
            caseworkers[municipality] = list(
                User.objects.filter(is_active=True, municipalities=municipality, groups__name=Role.CASEWORKER)
                .order_by("pk")
                .values_list("email", flat=True)
            )
        context = {"application": application, "number": number + 1, "years": years, "ended": ended}
        subject = (
            f"Zweckbindung erfüllt: {application.file_number}"
            if ended
            else f"Zweckbindung {application.file_number}: Jahr {number + 1} von {years}"
        )
        with translation.override("de"):
            body = render_to_string("emails/reminder_commitment.txt", context)
        sent += bool(
            email_send_once(
                key=f"reminder:commitment:{application.pk}:{'end' if ended else number + 1}",
                to=caseworkers[municipality],
                subject=subject,
                body=body,
                application=application,
            )
        )
    return sent
