"""Add the base rate (Basiszinssatz, § 247 BGB) the Deutsche Bundesbank published for a half-year."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from budgets.models import BaseRate


class Command(BaseCommand):
    help = (
        "Trägt den Basiszinssatz der Deutschen Bundesbank ein, z. B. add_base_rate 2027-01-01 1,27 "
        "(gültig ab 1. Januar oder 1. Juli; ein schon eingetragener Satz bleibt, außer mit --replace)."
    )

    def add_arguments(self, parser):
        parser.add_argument("valid_from", help="gültig ab, JJJJ-MM-TT (1. Januar oder 1. Juli)")
        parser.add_argument("rate", help="Satz in Prozent, z. B. 1,27 oder -0.88 (negativ mit Punkt)")
        parser.add_argument("--replace", action="store_true", help="einen schon eingetragenen Satz ersetzen")

    def handle(self, *args, valid_from, rate, replace=False, **options):
        try:
            day = date.fromisoformat(valid_from)
        except ValueError:
            raise CommandError(f"„{valid_from}“ ist kein Datum (JJJJ-MM-TT).") from None
        try:
            percent = Decimal(rate.replace(",", "."))
        except InvalidOperation:
            raise CommandError(f"„{rate}“ ist kein Prozentsatz.") from None
        existing = BaseRate.objects.filter(valid_from=day).first()
        if existing is not None and not replace:
            raise CommandError(f"Für den {day:%d.%m.%Y} ist schon {existing.rate_percent} % eingetragen (--replace).")
        row = existing or BaseRate(valid_from=day)
        row.rate_percent = percent
        try:
            row.full_clean()
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        row.save()
        self.stdout.write(f"Basiszinssatz ab {day:%d.%m.%Y}: {percent} %")
