"""Celery entry points of the budget; each only calls a service."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task
def generate_statement(*, statement_id: int) -> None:
    services.statement_generate(statement_id=statement_id)
