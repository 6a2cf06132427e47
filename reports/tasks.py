"""Celery entry points of the reports; each only calls a service."""

from __future__ import annotations

from celery import shared_task

from . import generation


# The name it had under budgets: a statement queued before an upgrade is still written after it.
@shared_task(name="budgets.tasks.generate_statement")
def generate_statement(*, statement_id: int) -> None:
    generation.statement_generate(statement_id=statement_id)
