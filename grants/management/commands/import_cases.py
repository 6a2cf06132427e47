from django.core.management.base import BaseCommand, CommandError

from applicants.models import User
from core.errors import DomainError
from grants.imports import import_workbook
from grants.models import Programme


class Command(BaseCommand):
    help = "Import legacy cases (Altfälle) from an Excel workbook into a programme, with their ledger entries."

    def add_arguments(self, parser):
        parser.add_argument("workbook", help="the .xlsx file, one row per case (see grants/sample_data/)")
        parser.add_argument("--programme", required=True, help="id or code (e.g. FP) of the programme")
        parser.add_argument("--user", required=True, help="username of the caseworker the import is booked by")
        parser.add_argument("--valid-only", action="store_true", help="import the valid rows even if others fail")

    def handle(self, *args, workbook, programme, user, valid_only, **options):
        found = Programme.objects.filter(pk=int(programme)) if programme.isdigit() else None
        found = list(found or Programme.objects.filter(code=programme.upper()))
        if len(found) != 1:
            raise CommandError(f"Programm {programme!r}: nicht gefunden oder mehrdeutig (bitte die id angeben).")
        by = User.objects.filter(username=user).first()
        if by is None:
            raise CommandError(f"Benutzer/in {user!r} nicht gefunden.")
        try:
            with open(workbook, "rb") as file:
                report = import_workbook(programme_id=found[0].pk, file=file, by=by, valid_only=valid_only)
        except DomainError as refusal:
            raise CommandError(" ".join(refusal.reasons)) from None
        if report.error:
            raise CommandError(report.error)
        for row in report.rows:
            if row.imported:
                self.stdout.write(f"Zeile {row.number}: übernommen als {row.file_number}")
            else:
                self.stdout.write(f"Zeile {row.number} ({row.label}): abgelehnt – {' '.join(row.reasons)}")
        summary = f"{len(report.imported)} übernommen, {len(report.refused)} abgelehnt."
        if not report.committed:
            raise CommandError(f"Nichts übernommen (alles oder nichts; --valid-only übernimmt die gültigen). {summary}")
        self.stdout.write(summary)
