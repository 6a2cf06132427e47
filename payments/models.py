"""Payment runs (Zahlungsläufe): the released payments of one municipality, for a value date, to the cash office.

A payment is booked when finance releases it (grants: pay, pay_partial); the run is the transfer order that follows:
each payment (a PAYMENT entry of the ledger) is in at most one run that has not come back (a database constraint).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from budgets.models import LedgerEntry
from core.banking import masked_iban
from core.models import Municipality
from core.money import MoneyField
from grants.models import GrantApplication


class PaymentRun(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("zusammengestellt")
        ORDERED = "ordered", _("angeordnet")
        EXECUTED = "executed", _("ausgeführt")

    municipality = models.ForeignKey(
        Municipality, verbose_name=_("Kommune"), on_delete=models.PROTECT, related_name="payment_runs"
    )
    value_date = models.DateField(_("Ausführungstag"))
    status = models.CharField(_("Stand"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    schema = models.CharField(_("SEPA-Version"), max_length=20)
    message_id = models.CharField(_("Nachrichtenkennung"), max_length=35, unique=True)
    count = models.PositiveIntegerField(_("Zahlungen"))
    total = MoneyField(_("Summe"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("zusammengestellt von"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("zusammengestellt am"), auto_now_add=True)
    ordered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("angeordnet von"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    ordered_at = models.DateTimeField(_("angeordnet am"), null=True, blank=True)
    executed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("als ausgeführt erfasst von"), on_delete=models.PROTECT, null=True,
        blank=True, related_name="+",
    )  # fmt: skip
    executed_on = models.DateField(_("ausgeführt am"), null=True, blank=True)

    class Meta:
        verbose_name = _("Zahlungslauf")
        verbose_name_plural = _("Zahlungsläufe")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gt=0, count__gt=0), name="payment_run_not_empty"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(ordered_by__isnull=False, ordered_at__isnull=False),
                name="payment_run_ordered_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return _("Zahlungslauf %(id)s zum %(day)s") % {"id": self.pk, "day": f"{self.value_date:%d.%m.%Y}"}


class PaymentItem(models.Model):
    """One transfer of a run: a released payment to the applicant's account, as it stood when the run was made."""

    run = models.ForeignKey(PaymentRun, verbose_name=_("Zahlungslauf"), on_delete=models.PROTECT, related_name="items")
    entry = models.ForeignKey(
        LedgerEntry, verbose_name=_("Buchung"), on_delete=models.PROTECT, related_name="payment_items"
    )
    application = models.ForeignKey(
        GrantApplication, verbose_name=_("Antrag"), on_delete=models.PROTECT, related_name="payment_items"
    )
    payee = models.CharField(_("Empfänger/in"), max_length=70)
    iban = models.CharField(_("IBAN"), max_length=34)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    amount = MoneyField(_("Betrag"))
    purpose = models.CharField(_("Verwendungszweck"), max_length=140)
    end_to_end_id = models.CharField(_("Ende-zu-Ende-Referenz"), max_length=35)
    returned_on = models.DateField(_("zurückgekommen am"), null=True, blank=True)
    return_reason = models.CharField(_("Grund der Rücküberweisung"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("Überweisung")
        verbose_name_plural = _("Überweisungen")
        ordering = ["id"]
        constraints = [
            # A payment is in one run only, unless that transfer came back (then it may go again).
            models.UniqueConstraint(
                fields=["entry"], condition=Q(returned_on__isnull=True), name="payment_in_one_run_only"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_item_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.end_to_end_id}: {self.amount} €"

    @property
    def iban_masked(self) -> str:
        return masked_iban(self.iban)
