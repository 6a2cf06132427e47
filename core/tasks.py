"""Queueing background work so that a broker that is down never turns a committed write into an error page."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task: Any, **kwargs: Any) -> None:
    """Queue a task now; a failure is logged (the beat's catch-up jobs make up for it), never raised."""
    try:
        task.delay(**kwargs)
    except Exception:
        logger.exception("Could not queue %s(%s); notify_missed_transitions (beat) makes up for it.", task.name, kwargs)


def enqueue_on_commit(task: Any, **kwargs: Any) -> None:
    """Queue a task once the surrounding transaction has committed (at once outside one)."""
    transaction.on_commit(lambda: enqueue(task, **kwargs))
