from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Abs
from django.db.models.lookups import LessThan
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.append_only import AppendOnlyError, AppendOnlyModel
from core.money import MAX_AMOUNT, MoneyField, positive_money_validators

SHARES = ("federal", "state", "municipal", "private")
# The limit of a statement's Sachbericht, for the API and the workspace alike.
NARRATIVE_MAX_LENGTH = 20000
SHARE_LABELS = {
    "federal": _("Bund"),
    "state": _("Land"),
    "municipal": _("Kommune"),
    "private": _("Private"),
}


def PercentField(verbose_name):  # noqa: N802 - reads like a field class
    return models.DecimalField(
        verbose_name,
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )


_SHARE_SUM = F("federal_percent") + F("state_percent") + F("municipal_percent") + F("private_percent")


class Allocation(models.Model):
    """Bewilligungsrahmen: the money a programme may commit in one programme year, by funding share."""

    programme = models.ForeignKey(
        "grants.Programme", verbose_name=_("Förderprogramm"), on_delete=models.PROTECT, related_name="allocations"
    )
    year = models.PositiveSmallIntegerField(
        _("Programmjahr"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    amount = MoneyField(_("Mittelausstattung"), validators=positive_money_validators)
    federal_percent = PercentField(_("Anteil Bund in %"))
    state_percent = PercentField(_("Anteil Land in %"))
    municipal_percent = PercentField(_("Anteil Kommune in %"))
    private_percent = PercentField(_("Anteil Private in %"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("Mittelausstattung")
        verbose_name_plural = _("Mittelausstattungen")
        ordering = ["programme", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "year"], name="one_allocation_per_programme_year"),
            models.CheckConstraint(
                condition=Q(amount__gt=0, amount__lte=MAX_AMOUNT), name="allocation_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(
                    federal_percent__gte=0, state_percent__gte=0, municipal_percent__gte=0, private_percent__gte=0
                ),
                name="allocation_shares_not_negative",
            ),
            models.CheckConstraint(
                # Exact on PostgreSQL; the tolerance only absorbs SQLite's binary floats.
                condition=Q(LessThan(Abs(_SHARE_SUM - Value(Decimal("100"))), Value(Decimal("0.001")))),
                name="allocation_shares_sum_to_100",
                violation_error_message=_("Die Förderanteile müssen zusammen 100 %% ergeben."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.programme.name} {self.year}"

    @property
    def shares(self) -> dict[str, Decimal]:
        return {share: getattr(self, f"{share}_percent") for share in SHARES}

    def clean(self) -> None:
        total = sum(self.shares.values(), Decimal("0"))
        if total != Decimal("100"):
            raise ValidationError(
                _("Die Förderanteile müssen zusammen 100 %% ergeben, sie ergeben %(total)s %%.") % {"total": total}
            )


class LedgerIsAppendOnly(AppendOnlyError):
    pass


class LedgerEntry(AppendOnlyModel):
    """One booking against an allocation, split to the cent into its funding shares. Never changed."""

    append_only_error = LedgerIsAppendOnly
    unchanged_message = _("Buchungen werden nie geändert; eine Korrektur ist eine neue Buchung.")
    undeleted_message = _("Buchungen werden nie gelöscht; eine Korrektur ist eine neue Buchung.")

    class Kind(models.TextChoices):
        COMMITMENT = "commitment", _("Bindung (Bewilligung)")
        RELEASE = "release", _("Freigabe")
        PAYMENT = "payment", _("Auszahlung")
        RECLAIM = "reclaim", _("Rückforderung")

    allocation = models.ForeignKey(
        Allocation, verbose_name=_("Mittelausstattung"), on_delete=models.PROTECT, related_name="entries"
    )
    application = models.ForeignKey(
        "grants.GrantApplication",
        verbose_name=_("Antrag"),
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    kind = models.CharField(_("Art"), max_length=20, choices=Kind.choices)
    amount = MoneyField(_("Betrag"), validators=positive_money_validators)
    federal_amount = MoneyField(_("Bund"))
    state_amount = MoneyField(_("Land"))
    municipal_amount = MoneyField(_("Kommune"))
    private_amount = MoneyField(_("Private"))
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("gebucht von"), on_delete=models.PROTECT, related_name="+"
    )
    booked_at = models.DateTimeField(_("gebucht am"), auto_now_add=True, db_index=True)
    comment = models.CharField(_("Buchungstext"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("Buchung")
        verbose_name_plural = _("Buchungen")
        ordering = ["booked_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_amount_positive"),
            models.CheckConstraint(
                condition=Q(federal_amount__gte=0, state_amount__gte=0, municipal_amount__gte=0, private_amount__gte=0),
                name="ledger_parts_not_negative",
            ),
            models.CheckConstraint(
                # Exact on PostgreSQL (parts have whole cents, so any real difference is at least 0.01); the
                # tolerance only absorbs SQLite's binary floats, where 0.1 + 0.2 is not 0.3.
                condition=Q(
                    LessThan(
                        Abs(
                            F("federal_amount")
                            + F("state_amount")
                            + F("municipal_amount")
                            + F("private_amount")
                            - F("amount")
                        ),
                        Value(Decimal("0.005")),
                    )
                ),
                name="ledger_parts_sum_to_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} €"


def statement_upload_to(instance: Statement, filename: str) -> str:
    return f"statements/{instance.municipality_id}/{filename}"


class Statement(models.Model):
    """Verwendungsnachweis: the yearly account of a programme (or of all programmes of a municipality).

    Staff request it with their edited narrative (Sachbericht); a Celery task writes the workbook
    and the PDF from the ledger and counts its progress here.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("wartet")
        RUNNING = "running", _("läuft")
        DONE = "done", _("fertig")
        FAILED = "failed", _("fehlgeschlagen")

    municipality = models.ForeignKey(
        "core.Municipality", verbose_name=_("Kommune"), on_delete=models.PROTECT, related_name="statements"
    )
    programme = models.ForeignKey(
        "grants.Programme",
        verbose_name=_("Förderprogramm"),
        on_delete=models.PROTECT,
        related_name="statements",
        null=True,
        blank=True,
        help_text=_("leer: alle Programme der Kommune"),
    )
    year = models.PositiveSmallIntegerField(
        _("Programmjahr"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    narrative = models.TextField(_("Sachbericht"), blank=True)
    status = models.CharField(_("Status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(_("Zeilen"), default=0)
    done = models.PositiveIntegerField(_("geschrieben"), default=0)
    error = models.TextField(_("Fehler"), blank=True)
    workbook = models.FileField(_("Excel-Datei"), upload_to=statement_upload_to, blank=True)
    pdf = models.FileField(_("PDF"), upload_to=statement_upload_to, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("angefordert von"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("angefordert am"), auto_now_add=True)
    finished_at = models.DateTimeField(_("fertig am"), null=True, blank=True)

    class Meta:
        verbose_name = _("Verwendungsnachweis")
        verbose_name_plural = _("Verwendungsnachweise")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{_('Verwendungsnachweis')} {self.programme or self.municipality} {self.year}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return 0 if not self.total else min(99, round(100 * self.done / self.total))
