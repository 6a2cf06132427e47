"""Writing a requested statement: the workbook and the PDF, with its progress counted on the row (the task's work)."""

from __future__ import annotations

from io import BytesIO

from django.core.files.base import ContentFile
from django.utils import timezone

from budgets.models import Statement
from grants.models import Programme

from .statements import render_statement_pdf, write_statement


def statement_programmes(statement):
    if statement.programme_id:
        return [statement.programme]
    return list(Programme.objects.filter(municipality=statement.municipality_id).order_by("name", "pk"))


def statement_generate(*, statement_id: int):
    """Write the workbook and the PDF of a requested statement, counting progress on the row."""
    statement = Statement.objects.select_related("municipality", "programme__municipality").get(pk=statement_id)
    if statement.status == Statement.Status.DONE:
        return statement
    Statement.objects.filter(pk=statement_id).update(status=Statement.Status.RUNNING, done=0, error="")
    programmes = statement_programmes(statement)

    def progress(done: int, total: int) -> None:
        Statement.objects.filter(pk=statement_id).update(done=done, total=total)

    try:
        out = BytesIO()
        totals = write_statement(programmes, statement.year, out, narrative=statement.narrative, progress=progress)
        pdf = render_statement_pdf(programmes, statement.year, narrative=statement.narrative, totals=totals)
    except Exception as error:
        Statement.objects.filter(pk=statement_id).update(status=Statement.Status.FAILED, error=str(error)[:2000])
        raise
    name = f"verwendungsnachweis-{statement.programme.code if statement.programme else 'alle'}-{statement.year}"
    statement.refresh_from_db()
    statement.workbook.save(f"{name}.xlsx", ContentFile(out.getvalue()), save=False)
    statement.pdf.save(f"{name}.pdf", ContentFile(pdf), save=False)
    statement.status = Statement.Status.DONE
    statement.done = statement.total = totals.rows
    statement.finished_at = timezone.now()
    statement.save()
    statement.refresh_from_db()
    return statement
