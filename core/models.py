"""Tenancy: the municipality (Kommune) that runs programmes, and who works for it.

The tables keep the names they had when the municipality lived in ``grants`` (rows and ids unchanged).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .banking import iban_of_a_known_bank
from .history import History


class State(models.TextChoices):
    """Bundesland: its public holidays end deadlines, its law says when a posted notice counts as notified."""

    BW = "BW", "Baden-Württemberg"
    BY = "BY", "Bayern"
    BE = "BE", "Berlin"
    BB = "BB", "Brandenburg"
    HB = "HB", "Bremen"
    HH = "HH", "Hamburg"
    HE = "HE", "Hessen"
    MV = "MV", "Mecklenburg-Vorpommern"
    NI = "NI", "Niedersachsen"
    NW = "NW", "Nordrhein-Westfalen"
    RP = "RP", "Rheinland-Pfalz"
    SL = "SL", "Saarland"
    SN = "SN", "Sachsen"
    ST = "ST", "Sachsen-Anhalt"
    SH = "SH", "Schleswig-Holstein"
    TH = "TH", "Thüringen"


class Municipality(models.Model):
    """Kommune: the town that runs programmes; staff are scoped to theirs."""

    name = models.CharField(_("Name"), max_length=200, unique=True)
    official_name = models.CharField(_("Amtliche Bezeichnung"), max_length=200, blank=True)
    address = models.TextField(_("Anschrift"), blank=True)
    # Blank (the rows before issue 16): the holidays of the whole country and the federal rule of notification.
    state = models.CharField(
        _("Bundesland"),
        max_length=2,
        choices=State.choices,
        blank=True,
        default="",
        db_default="",
        help_text=_("bestimmt die Feiertage bei Fristen und die Bekanntgabefiktion nach Landesrecht"),
    )
    objection_procedure = models.BooleanField(
        _("Widerspruchsverfahren"),
        default=True,
        db_default=True,
        help_text=_(
            "Gegen die Bescheide ist Widerspruch statthaft; sonst unmittelbar Klage (z. B. Nordrhein-Westfalen, "
            "§ 110 JustG NRW)."
        ),
    )
    # The account payments leave from (the SEPA file's debtor, payments.sepa) and the file's version.
    debtor_name = models.CharField(_("Kontoinhaber (Zahlungen)"), max_length=70, blank=True, db_default="")
    debtor_iban = models.CharField(
        _("IBAN (Zahlungen)"), max_length=34, blank=True, db_default="", validators=[iban_of_a_known_bank]
    )
    debtor_bic = models.CharField(_("BIC (Zahlungen)"), max_length=11, blank=True, db_default="")
    sepa_schema = models.CharField(
        _("SEPA-Version"),
        max_length=20,
        choices=[("pain.001.001.09", "pain.001.001.09"), ("pain.001.001.03", "pain.001.001.03")],
        default="pain.001.001.09",
        db_default="pain.001.001.09",
        help_text=_("pain.001.001.09 nehmen die deutschen Banken seit November 2023; .03 für ältere Kassensysteme."),
    )
    # Nr. 1.4 ANBest-K / ANBest-Gk (and ANBest-P): funds are drawn down only as far as they are needed for payments
    # due within two months; a setting, because the states' general conditions differ.
    drawdown_months = models.PositiveSmallIntegerField(
        _("Mittelabruf: Zahlungen fällig binnen Monaten"),
        default=2,
        db_default=2,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text=_("Nr. 1.4 ANBest-K/ANBest-Gk: abgerufen wird, was binnen zwei Monaten für Zahlungen benötigt wird."),
    )
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("Mitarbeitende"),
        related_name="municipalities",
        blank=True,
        db_table="grants_municipality_staff",
    )
    # Who works for which town is history: the staff list is kept with each change.
    history = History(m2m_fields=["staff"], table_prefix="grants")

    class Meta:
        db_table = "grants_municipality"
        verbose_name = _("Kommune")
        verbose_name_plural = _("Kommunen")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(drawdown_months__gt=0, drawdown_months__lte=12), name="drawdown_months_within_a_year"
            )
        ]

    def __str__(self) -> str:
        return self.name
