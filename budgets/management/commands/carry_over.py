"""Übertrag from the command line: propose the carry-over of an ended budget year, or confirm or discard one.

The same services as the page (four-eyes: the person who confirms is not the one who proposed)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from budgets import carry_overs
from budgets.models import Allocation, CarryOver
from core.errors import DomainError
from core.money import format_amount


class Command(BaseCommand):
    help = (
        "Überträgt nicht verausgabte Kassenmittel eines abgelaufenen Haushaltsjahres ins nächste: "
        "--propose JAHR schlägt für jede Mittelausstattung (oder --allocation) vor, --confirm ID bucht, "
        "--cancel ID verwirft; --by nennt die handelnde Person (Finanzabteilung)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--by", required=True, help="Benutzername der handelnden Person")
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--propose", type=int, metavar="JAHR", help="Übertrag aus diesem Haushaltsjahr vorschlagen")
        action.add_argument("--confirm", type=int, metavar="ID", help="diesen Vorschlag bestätigen und buchen")
        action.add_argument("--cancel", type=int, metavar="ID", help="diesen Vorschlag verwerfen")
        action.add_argument("--list", action="store_true", help="offene Vorschläge zeigen")
        parser.add_argument("--allocation", type=int, action="append", help="nur diese Mittelausstattung (id)")
        parser.add_argument("--comment", default="", help="Begründung für die Akte")

    def handle(self, *args, by, propose=None, confirm=None, cancel=None, list=False, allocation=None, comment="",
               **options):  # fmt: skip
        user = get_user_model().objects.filter(username=by, is_active=True).first()
        if user is None:
            raise CommandError(f"Keine aktive Person „{by}“.")
        try:
            if confirm is not None:
                carry = carry_overs.carry_over_confirm(carry_over_id=confirm, by=user)
                self.stdout.write(self._line(carry))
            elif cancel is not None:
                carry = carry_overs.carry_over_cancel(carry_over_id=cancel, by=user)
                self.stdout.write(self._line(carry))
            elif list:
                for carry in CarryOver.objects.filter(
                    status=CarryOver.Status.PROPOSED, allocation__programme__municipality__in=user.municipality_ids
                ).select_related("allocation__programme"):
                    self.stdout.write(self._line(carry))
            else:
                self._propose(user, propose, allocation, comment)
        except DomainError as refusal:
            raise CommandError(" ".join(refusal.reasons)) from None

    def _propose(self, user, year, only, comment):
        allocations = Allocation.objects.filter(
            programme__municipality__in=user.municipality_ids, year__lte=year
        ).select_related("programme")
        if only:
            allocations = allocations.filter(pk__in=only)
        proposed = 0
        for allocation in allocations.order_by("programme__name", "year"):
            try:
                carry = carry_overs.carry_over_propose(
                    allocation_id=allocation.pk, from_year=year, by=user, comment=comment
                )
            except DomainError as refusal:
                self.stdout.write(f"{allocation}: {' '.join(refusal.reasons)}")
                continue
            proposed += 1
            self.stdout.write(self._line(carry))
        self.stdout.write(f"{proposed} Überträge vorgeschlagen; eine zweite Person bestätigt sie mit --confirm ID.")

    @staticmethod
    def _line(carry: CarryOver) -> str:
        return (
            f"#{carry.pk} {carry.allocation} {carry.from_year} → {carry.to_year}: {carry.get_status_display()}, "
            f"{format_amount(carry.amount)} € (davon gebunden {format_amount(carry.committed)} €, {carry.cases} Fälle)"
        )
