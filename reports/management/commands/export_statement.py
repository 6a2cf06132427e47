from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.models import Municipality
from grants.models import Programme
from reports.statements import render_statement_pdf, write_statement


class Command(BaseCommand):
    help = "Write the proof-of-use statement (Verwendungsnachweis) of a programme, or of a municipality, for a year."

    def add_arguments(self, parser):
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("--programme", help="id or code (e.g. FP) of the programme")
        scope.add_argument("--municipality", help="name or id of the municipality: all its programmes")
        parser.add_argument("--year", type=int, required=True, help="programme year")
        parser.add_argument("--output", help="the .xlsx file (default verwendungsnachweis-<code>-<year>.xlsx)")
        parser.add_argument("--pdf", help="also write the PDF with the signature block to this file")
        parser.add_argument("--narrative", help="a text file with the Sachbericht (default: the generated draft)")

    def handle(self, *args, programme=None, municipality=None, year, output=None, pdf=None, narrative=None, **opts):
        programmes = self._programmes(programme, municipality)
        label = programmes[0].code if programme else "alle"
        target = Path(output or f"verwendungsnachweis-{label}-{year}.xlsx")
        text = Path(narrative).read_text(encoding="utf-8") if narrative else ""

        def progress(done, total):
            self.stderr.write(f"\r{done}/{total} Zeilen", ending="")

        totals = write_statement(programmes, year, str(target), narrative=text, progress=progress)
        self.stderr.write("")
        self.stdout.write(f"{target}: {totals.rows} Anträge, {totals.payments} Zahlungen.")
        if pdf:
            Path(pdf).write_bytes(render_statement_pdf(programmes, year, narrative=text, totals=totals))
            self.stdout.write(f"{pdf}: PDF mit Unterschriftenblock.")

    def _programmes(self, programme, municipality) -> list[Programme]:
        if programme:
            found = Programme.objects.filter(pk=int(programme)) if programme.isdigit() else None
            found = found or Programme.objects.filter(code=programme.upper())
            found = list(found.select_related("municipality"))
            if len(found) != 1:
                raise CommandError(
                    f"Programm {programme!r}: {'nicht gefunden' if not found else 'mehrdeutig, bitte die id angeben'}."
                )
            return found
        place = Municipality.objects.filter(pk=int(municipality)) if municipality.isdigit() else None
        place = (place or Municipality.objects.filter(name=municipality)).first()
        if place is None:
            raise CommandError(f"Kommune {municipality!r} nicht gefunden.")
        found = list(Programme.objects.filter(municipality=place).select_related("municipality").order_by("name"))
        if not found:
            raise CommandError(f"{place} hat keine Förderprogramme.")
        return found
