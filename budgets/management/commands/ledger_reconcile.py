"""Recompute every kept ledger total from the entries; print each difference; exit non-zero on any."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from budgets import totals
from budgets.models import Allocation


class Command(BaseCommand):
    help = (
        "Rechnet alle Buchungssummen aus den Buchungen nach, nennt jede Abweichung und endet mit Fehler, "
        "wenn es eine gibt (--rebuild: die Summen neu aufbauen)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--allocation", type=int, action="append", help="nur diese Mittelausstattung (id)")
        parser.add_argument("--rebuild", action="store_true", help="die Summen danach aus den Buchungen neu aufbauen")

    def handle(self, *args, allocation=None, rebuild=False, **options):
        allocations = Allocation.objects.all()
        if allocation:
            allocations = allocations.filter(pk__in=allocation)
        found = totals.differences(allocations)
        for d in found:
            self.stdout.write(
                f"Mittelausstattung {d.allocation_id}, Haushaltsjahr {d.cash_year}, Monat {d.month}, {d.kind}, "
                f"{d.field}: "
                f"geführt {d.kept}, aus den Buchungen {d.recomputed}"
            )
        checked = allocations.count()
        if rebuild and found:
            rows = totals.rebuild(allocations)
            self.stdout.write(f"Summen neu aufgebaut: {rows} Zeilen.")
            return
        if found:
            raise CommandError(f"{len(found)} Abweichungen in {checked} Mittelausstattungen.")
        self.stdout.write(f"Keine Abweichungen: {checked} Mittelausstattungen geprüft.")
