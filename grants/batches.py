"""Work on many cases at once, queued for the workers: letters for a selection, approvals of checked cases.

These services queue the tasks of grants.tasks; the tasks call back into letters and services.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.utils.translation import gettext as _

from applicants.models import User
from core.tasks import enqueue_on_commit

from .models import GrantApplication, LetterBatch
from .rules import decide
from .steps import STEPS, possible_in_state
from .tasks import approve_application, render_letter_batch

logger = logging.getLogger(__name__)


def letter_batch_create(*, application_ids, by: User) -> LetterBatch:
    """A batch that makes the missing letters of many cases in the background (grants.tasks)."""
    ids = list(application_ids)
    batch = LetterBatch.objects.create(created_by=by, total=len(ids))
    batch.applications.set(ids)
    enqueue_on_commit(render_letter_batch, batch_id=batch.pk)
    return batch


def approval_batch_request(*, application_ids: Iterable[int], by: User, comment: str = "") -> tuple[list[int], dict]:
    """Bewilligen im Stapel: queue the approval of many checked applications, each its own task and transaction.

    What is plainly not possible now (not visible, the role, four-eyes, the state) is answered at once,
    per application; whether the allocation carries each grant is decided in the worker, under the
    allocation's row lock, in the order the approvals are booked. Returns the queued ids and the
    refused ones with their reasons.
    """
    ids = list(dict.fromkeys(int(pk) for pk in application_ids))
    found = GrantApplication.objects.select_related("programme__municipality", "applicant").in_bulk(ids)
    queued, refused = [], {}
    for pk in ids:
        application = found.get(pk)
        if application is None or not decide(by, "view", application):
            refused[pk] = [_("Antrag nicht gefunden.")]
            continue
        decision = decide(by, "approve", application)
        if not decision:
            refused[pk] = [decision.reason]
        elif not possible_in_state(STEPS["approve"], application):
            refused[pk] = [
                _("Im Status „%(state)s“ ist dieser Schritt nicht möglich.")
                % {"state": application.get_state_display()}
            ]
        else:
            queued.append(pk)
    # Queued at once (this request writes nothing a worker would have to wait for): an approval the broker does
    # not take is answered as refused, never reported as queued and then lost.
    for pk in list(queued):
        try:
            approve_application.delay(application_id=pk, by_id=by.pk, comment=comment)
        except Exception:
            logger.exception("Could not queue the approval of application %s", pk)
            queued.remove(pk)
            refused[pk] = [
                _("Die Bewilligung konnte nicht eingereiht werden; bitte versuchen Sie es später noch einmal.")
            ]
    return queued, refused
