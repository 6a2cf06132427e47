"""Celery entry points; each only calls a service. All are safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task

from . import letters, notifications, privacy

logger = logging.getLogger(__name__)

RETRY = {"autoretry_for": (OSError,), "retry_backoff": True, "max_retries": 5}


@shared_task(**RETRY)
def notify_transition(*, state_log_id: int) -> None:
    notifications.notify_transition(state_log_id=state_log_id)


@shared_task
def notify_missed_transitions() -> int:
    return notifications.notify_missed_transitions()


@shared_task(**RETRY)
def send_daily_digests() -> int:
    return notifications.send_daily_digests()


@shared_task(**RETRY)
def send_reminders() -> int:
    return notifications.send_reminders()


@shared_task(**RETRY)
def send_commitment_reminders() -> int:
    return notifications.send_commitment_reminders()


@shared_task
def approve_application(*, application_id: int, by_id: int, comment: str = "") -> bool:
    from .services import application_approve_queued  # services queues this task: import when run

    return application_approve_queued(application_id=application_id, by_id=by_id, comment=comment)


@shared_task
def render_letter_batch(*, batch_id: int) -> None:
    letters.letter_batch_run(batch_id=batch_id)


@shared_task
def apply_data_retention() -> str:
    """Daily: delete stale drafts and anonymise the cases whose retention period has run out."""
    return str(privacy.apply_data_retention())


@shared_task(**RETRY)
def notify_waiting(*, application_id: int) -> bool:
    from .waiting import send_waiting_notice

    return send_waiting_notice(application_id)


@shared_task(**RETRY)
def offer_waiting_cases(*, programme_ids: list[int]) -> int:
    from .waiting import offer_waiting

    return offer_waiting(programme_ids)
