from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.template import Context, TemplateDoesNotExist, TemplateSyntaxError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import GET_STATE, FSMField, FSMModelMixin, transition
from django_fsm_log.decorators import fsm_log_by, fsm_log_description
from simple_history.models import HistoricalRecords

from applicants.models import Applicant, Consultation, Property
from core.append_only import AppendOnlyModel
from core.models import Municipality
from core.models import State as Bundesland
from core.money import MAX_AMOUNT, MoneyField, format_euro, positive_money_validators

from .calculator import (
    BuildingCategory,
    ComponentCosts,
    ComponentRule,
    CostLine,
    GrantResult,
    Guideline,
    PerM2Caps,
    Rounding,
    compute_grant,
)
from .wording import WORDING_ENGINE


class MeasureKind(models.TextChoices):
    FACADE = "facade", _("Fassade")
    COURTYARD = "courtyard", _("Hof / Garten")
    GREENING = "greening", _("Dach- / Fassadenbegrünung")
    SHOP_WINDOW = "shop_window", _("Schaufenster")
    UNSEALING = "unsealing", _("Entsiegelung")


class DeminimisRegulation(models.TextChoices):
    """The de-minimis regulation a programme grants under (docs/domain.md, "De-minimis aid")."""

    GENERAL = "general", _("allgemein (Verordnung (EU) 2023/2831)")
    AGRICULTURE = "agriculture", _("Landwirtschaft (Verordnung (EU) Nr. 1408/2013)")
    FISHERIES = "fisheries", _("Fischerei und Aquakultur (Verordnung (EU) Nr. 717/2014)")
    SGEI = "sgei", _("DAWI (Verordnung (EU) 2023/2832)")


@dataclass(frozen=True)
class DeminimisRules:
    title: str  # as the notice and the certificate cite it
    journal: str  # its publication in the Official Journal
    ceiling: Decimal  # over three years per single undertaking
    highest_ceiling: Decimal  # what a state may set instead (agriculture: Art. 3(3a) Reg. 1408/2013)


DEMINIMIS: dict[str, DeminimisRules] = {
    DeminimisRegulation.GENERAL: DeminimisRules(
        "Verordnung (EU) 2023/2831 der Kommission vom 13. Dezember 2023 über die Anwendung der Artikel 107 und 108 "
        "des Vertrags über die Arbeitsweise der Europäischen Union auf De-minimis-Beihilfen",
        "ABl. L, 2023/2831, 15.12.2023",
        Decimal("300000.00"),
        Decimal("300000.00"),
    ),
    DeminimisRegulation.AGRICULTURE: DeminimisRules(
        "Verordnung (EU) Nr. 1408/2013 der Kommission vom 18. Dezember 2013 über die Anwendung der Artikel 107 und "
        "108 des Vertrags über die Arbeitsweise der Europäischen Union auf De-minimis-Beihilfen im Agrarsektor, "
        "geändert durch die Verordnung (EU) 2019/316",
        "ABl. L 352 vom 24.12.2013, S. 9; ABl. L 51I vom 22.2.2019, S. 1",
        Decimal("20000.00"),
        Decimal("25000.00"),
    ),
    DeminimisRegulation.FISHERIES: DeminimisRules(
        "Verordnung (EU) Nr. 717/2014 der Kommission vom 27. Juni 2014 über die Anwendung der Artikel 107 und 108 "
        "des Vertrags über die Arbeitsweise der Europäischen Union auf De-minimis-Beihilfen im Fischerei- und "
        "Aquakultursektor, geändert durch die Verordnung (EU) 2023/2391",
        "ABl. L 190 vom 28.6.2014, S. 45; ABl. L, 2023/2391, 10.11.2023",
        Decimal("40000.00"),
        Decimal("40000.00"),
    ),
    DeminimisRegulation.SGEI: DeminimisRules(
        "Verordnung (EU) 2023/2832 der Kommission vom 13. Dezember 2023 über die Anwendung der Artikel 107 und 108 "
        "des Vertrags über die Arbeitsweise der Europäischen Union auf De-minimis-Beihilfen an Unternehmen, die "
        "Dienstleistungen von allgemeinem wirtschaftlichem Interesse erbringen",
        "ABl. L, 2023/2832, 15.12.2023",
        Decimal("750000.00"),
        Decimal("750000.00"),
    ),
}


class Programme(models.Model):
    """Förderprogramm with its guideline (Förderrichtlinie) as data."""

    class Kind(models.TextChoices):
        FACADE = "facade", _("Fassadenprogramm")
        SHOP_WINDOW = "shop_window", _("Schaufenster- / Leerstandsprogramm")
        COURTYARD = "courtyard", _("Hof- und Begrünungsprogramm")
        DISPOSITION_FUND = "disposition_fund", _("Verfügungsfonds")

    municipality = models.ForeignKey(
        Municipality, verbose_name=_("Kommune"), on_delete=models.PROTECT, related_name="programmes"
    )
    kind = models.CharField(_("Art"), max_length=30, choices=Kind.choices)
    name = models.CharField(_("Name"), max_length=200)
    code = models.CharField(
        _("Aktenzeichen-Kürzel"),
        max_length=10,
        validators=[RegexValidator(r"^[A-Z]{1,10}$", _("Nur Großbuchstaben, z. B. FP."))],
        help_text=_("Vorsilbe der Aktenzeichen, z. B. FP für FP-2026-0007"),
    )
    description = models.TextField(_("Beschreibung"), blank=True)

    opens_on = models.DateField(_("Antragstellung ab"), null=True, blank=True)
    closes_on = models.DateField(_("Antragstellung bis"), null=True, blank=True)
    completion_months = models.PositiveSmallIntegerField(_("Durchführungsfrist in Monaten"), default=12)
    invoice_months = models.PositiveSmallIntegerField(_("Frist für Schlussrechnungen in Monaten"), default=3)
    partial_payment_percent = models.PositiveSmallIntegerField(
        _("Abschlagszahlungen bis zu % des Zuschusses"),
        default=80,
        validators=[MaxValueValidator(100)],
        help_text=_(
            "Vor dem Verwendungsnachweis werden auf geprüfte Rechnungen höchstens so viel Prozent des bewilligten "
            "Zuschusses ausgezahlt; 0 heißt: keine Abschlagszahlungen."
        ),
    )
    # § 367 (1) BGB: a repayment settles costs, then interest, then the principal; the programme's rules (or the
    # municipality's practice) may credit the principal first, which stops the interest sooner.
    repayment_order = models.CharField(
        _("Anrechnung von Rückzahlungen"),
        max_length=20,
        choices=[
            ("interest_first", _("erst Zinsen, dann Hauptforderung (§ 367 Abs. 1 BGB)")),
            ("principal_first", _("erst Hauptforderung, dann Zinsen")),
        ],
        default="interest_first",
    )
    retention_years = models.PositiveSmallIntegerField(
        _("Aufbewahrung personenbezogener Daten in Jahren"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text=_(
            "Nach Ende der Zweckbindungsfrist (geförderte Fälle) oder nach der Entscheidung (abgelehnte und "
            "zurückgezogene Fälle) werden die personenbezogenen Daten nach so vielen Jahren anonymisiert."
        ),
    )

    # De-minimis aid (grants.deminimis): the regulation, and its ceiling as the programme applies it (the table's,
    # or for agriculture up to 25,000 € where the state has set that); both are fixed with each case at submission.
    deminimis_regulation = models.CharField(
        _("De-minimis-Beihilfe nach"),
        db_default="",
        max_length=20,
        choices=DeminimisRegulation.choices,
        blank=True,
        help_text=_("leer: die Zuschüsse sind keine De-minimis-Beihilfen"),
    )
    deminimis_ceiling = MoneyField(
        _("De-minimis-Höchstbetrag in drei Jahren"),
        null=True,
        blank=True,
        help_text=_("leer: der Höchstbetrag der Verordnung"),
    )

    # The version applications submitted from now on are computed under (set by GuidelineVersion.save).
    current_version = models.ForeignKey(
        "GuidelineVersion",
        verbose_name=_("geltende Fassung der Förderrichtlinie"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("Förderprogramm")
        verbose_name_plural = _("Förderprogramme")
        ordering = ["municipality__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "code"], name="programme_code_unique_per_municipality"),
            models.CheckConstraint(
                condition=Q(opens_on__isnull=True) | Q(closes_on__isnull=True) | Q(closes_on__gte=models.F("opens_on")),
                name="programme_window_in_order",
                violation_error_message=_("Das Ende der Antragsfrist liegt vor ihrem Beginn."),
            ),
            models.CheckConstraint(
                condition=~Q(deminimis_regulation="") | Q(deminimis_ceiling__isnull=True),
                name="programme_deminimis_ceiling_with_regulation",
                violation_error_message=_("Ein De-minimis-Höchstbetrag gilt nur mit einer De-minimis-Verordnung."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.municipality})"

    def clean(self) -> None:
        if self.deminimis_regulation and self.deminimis_ceiling is not None:
            rules = DEMINIMIS[self.deminimis_regulation]
            if not Decimal("0.01") <= self.deminimis_ceiling <= rules.highest_ceiling:
                raise ValidationError(
                    {
                        "deminimis_ceiling": _("Nach dieser Verordnung sind höchstens %(amount)s zulässig.")
                        % {"amount": format_euro(rules.highest_ceiling)}
                    }
                )

    @property
    def is_deminimis(self) -> bool:
        return bool(self.deminimis_regulation)

    @property
    def deminimis_ceiling_in_force(self) -> Decimal | None:
        """The ceiling the programme applies: its own where set, else the regulation's."""
        if not self.deminimis_regulation:
            return None
        return self.deminimis_ceiling or DEMINIMIS[self.deminimis_regulation].ceiling

    def is_open_on(self, day) -> bool:
        return (self.opens_on is None or self.opens_on <= day) and (self.closes_on is None or day <= self.closes_on)

    def covers(self, street: str, house_number: str) -> bool:
        """Whether an address lies in the funding area (Fördergebiet) of the guideline in force."""
        return self.current_version is not None and self.current_version.covers(street, house_number)


class VatRule(models.TextChoices):
    """Which amount of a cost line counts: by the applicant's input-VAT deduction, or net for everyone."""

    BY_APPLICANT = "by_applicant", _("netto bei Vorsteuerabzug, sonst brutto")
    NET = "net", _("stets netto (Umsatzsteuer nicht förderfähig)")


class FrozenGuideline(ValidationError):
    """A change of a guideline version under which an application has been submitted."""


def frozen_message(version: GuidelineVersion):
    return _(
        "Fassung %(number)s der Förderrichtlinie gilt für eingereichte Anträge und kann nicht mehr geändert werden. "
        "Legen Sie die Änderung als neue Fassung an."
    ) % {"number": version.number}


class GuidelineVersion(models.Model):
    """Fassung der Förderrichtlinie: a programme's terms from a date, frozen once an application is submitted.

    Everything the grant and the check depend on is here, with its component rules and funding area as
    child rows; a later change is a new version (docs/domain.md, "Guideline versions").
    """

    programme = models.ForeignKey(
        Programme, verbose_name=_("Förderprogramm"), on_delete=models.PROTECT, related_name="guideline_versions"
    )
    number = models.PositiveIntegerField(_("Fassung"), editable=False)
    valid_from = models.DateField(_("gilt ab"), help_text=_("für Anträge, die ab diesem Tag eingereicht werden"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("angelegt von"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    reason = models.TextField(
        _("Anlass der Fassung"), help_text=_("z. B. Ratsbeschluss vom …, Änderung des Fördersatzes")
    )
    created_at = models.DateTimeField(_("angelegt am"), auto_now_add=True)

    funding_rate_percent = models.DecimalField(
        _("Fördersatz in %"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )
    property_cap = MoneyField(_("Höchstbetrag je Grundstück"), null=True, blank=True)
    minimum_grant = MoneyField(_("Bagatellgrenze (Zuschuss)"), null=True, blank=True)
    minimum_eligible_costs = MoneyField(_("Mindestbetrag förderfähige Kosten"), null=True, blank=True)
    minimum_order_volume = MoneyField(_("Mindestauftragsvolumen"), null=True, blank=True)
    ancillary_cap_percent = models.DecimalField(
        _("Baunebenkosten höchstens in % der Baukosten"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    rounding = models.CharField(_("Rundung"), max_length=20, choices=Rounding.choices, default=Rounding.EURO_DOWN)

    vat_rule = models.CharField(_("Umsatzsteuer"), max_length=20, choices=VatRule.choices, default=VatRule.BY_APPLICANT)
    consultation_required = models.BooleanField(_("Erstberatung erforderlich"), default=True)
    consultation_max_age_days = models.PositiveIntegerField(
        _("Erstberatung höchstens so viele Tage vor der Einreichung"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("leer: ohne Höchstalter"),
    )
    quotes_required = models.PositiveSmallIntegerField(
        _("Anzahl Angebote"), default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    photo_before_required = models.BooleanField(_("Foto vor der Maßnahme erforderlich"), default=True)
    land_register_required = models.BooleanField(_("Grundbuchauszug erforderlich"), default=True)
    commitment_years = models.PositiveSmallIntegerField(_("Zweckbindungsfrist in Jahren"), default=10)
    applies_to_pending = models.BooleanField(
        _("Übergangsregelung: auch für anhängige Anträge"),
        default=False,
        help_text=_(
            "Die Sachbearbeitung darf eingereichte, noch nicht bewilligte Anträge mit Begründung auf diese "
            "Fassung umstellen."
        ),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("Fassung der Förderrichtlinie")
        verbose_name_plural = _("Fassungen der Förderrichtlinie")
        ordering = ["programme", "number"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "number"], name="guideline_version_number_unique"),
            models.CheckConstraint(
                condition=Q(funding_rate_percent__gt=0, funding_rate_percent__lte=100),
                name="guideline_rate_between_0_and_100",
            ),
        ]

    def __str__(self) -> str:
        return _("%(programme)s, Fassung %(number)s vom %(date)s") % {
            "programme": self.programme.name,
            "number": self.number,
            "date": self.valid_from.strftime("%d.%m.%Y") if self.valid_from else "…",
        }

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and self.is_frozen():
            raise FrozenGuideline(frozen_message(self))
        created = self.pk is None
        if created and not self.number:
            last = GuidelineVersion.objects.filter(programme_id=self.programme_id).order_by("-number").first()
            self.number = last.number + 1 if last else 1
        super().save(*args, **kwargs)
        if created:
            # The newest version is the one later applications are submitted under.
            programme = Programme.objects.get(pk=self.programme_id)
            programme.current_version = self
            programme.save(update_fields=["current_version"])
            self.programme = programme

    def delete(self, *args, **kwargs):
        if self.is_frozen():
            raise FrozenGuideline(frozen_message(self))
        return super().delete(*args, **kwargs)

    def is_frozen(self) -> bool:
        """Whether an application has been submitted under this version: then nothing of it may change."""
        return self.pk is not None and self.applications.filter(submitted_at__isnull=False).exists()

    def clean(self) -> None:
        if self.pk is not None and self.is_frozen():
            raise FrozenGuideline(frozen_message(self))
        if self.pk is None and self.programme_id is not None and self.valid_from is not None:
            if self.valid_from > timezone.localdate():
                raise ValidationError(
                    {"valid_from": _("Eine Fassung wird an dem Tag angelegt, ab dem sie gilt, nicht vorher.")}
                )
            latest = self.programme.current_version
            if latest is not None and self.valid_from < latest.valid_from:
                raise ValidationError(
                    {
                        "valid_from": _("Die neue Fassung kann nicht vor der geltenden (%(date)s) beginnen.")
                        % {"date": latest.valid_from.strftime("%d.%m.%Y")}
                    }
                )

    def guideline(self) -> Guideline:
        """The terms as the calculator takes them."""
        return Guideline(
            rate_percent=self.funding_rate_percent,
            component_rules={
                rule.component: ComponentRule(
                    rule.cost_cap_per_m2, rule.grant_cap_per_m2, rule.component_cap, graded=rule.graded_caps()
                )
                for rule in self.component_rules.all()
            },
            property_cap=self.property_cap,
            minimum_grant=self.minimum_grant,
            minimum_eligible_costs=self.minimum_eligible_costs,
            minimum_order_volume=self.minimum_order_volume,
            ancillary_cap_percent=self.ancillary_cap_percent,
            rounding=self.rounding,
        )

    def counts_net(self, applicant: Applicant) -> bool:
        """Whether costs count net for this applicant (docs/domain.md, "Guideline parameters")."""
        return self.vat_rule == VatRule.NET or applicant.may_deduct_input_vat

    def covers(self, street: str, house_number: str) -> bool:
        """Whether an address lies in this version's funding area (Fördergebiet)."""
        return any(s.covers(street, house_number) for s in self.funding_area.all())


# The fields of a version that are its terms (what a new version copies), not its identity.
GUIDELINE_TERMS = tuple(
    f
    for f in GuidelineVersion._meta.concrete_fields
    if f.name not in {"id", "programme", "number", "valid_from", "author", "reason", "created_at"}
)


class _FrozenWithVersion(models.Model):
    """A child row of a guideline version: it changes only while its version is not frozen."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            before = type(self).objects.filter(pk=self.pk).values_list("version_id", flat=True).first()
            self._refuse_if_frozen(before)
        self._refuse_if_frozen(self.version_id)  # type: ignore[attr-defined]
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._refuse_if_frozen(self.version_id)  # type: ignore[attr-defined]
        return super().delete(*args, **kwargs)

    def _refuse_if_frozen(self, version_id) -> None:
        if version_id is None:
            return
        version = GuidelineVersion.objects.get(pk=version_id)
        if version.is_frozen():
            raise FrozenGuideline(frozen_message(version))


class ProgrammeComponentRule(_FrozenWithVersion):
    """The caps a guideline version sets for one kind of measure; only kinds listed here are funded."""

    version = models.ForeignKey(
        GuidelineVersion, verbose_name=_("Fassung"), on_delete=models.CASCADE, related_name="component_rules"
    )
    component = models.CharField(_("Maßnahme"), max_length=20, choices=MeasureKind.choices)
    cost_cap_per_m2 = MoneyField(_("anerkannte Kosten höchstens je m²"), null=True, blank=True)
    grant_cap_per_m2 = MoneyField(_("Zuschuss höchstens je m²"), null=True, blank=True)
    component_cap = MoneyField(_("Zuschuss höchstens je Maßnahme"), null=True, blank=True)
    # Graded per-m² caps (docs/domain.md): buildings of special value and special cases; empty: the standard cap.
    cost_cap_per_m2_special_value = MoneyField(
        _("anerkannte Kosten höchstens je m², Gebäude von besonderer Bedeutung"), null=True, blank=True
    )
    grant_cap_per_m2_special_value = MoneyField(
        _("Zuschuss höchstens je m², Gebäude von besonderer Bedeutung"), null=True, blank=True
    )
    cost_cap_per_m2_special_case = MoneyField(_("anerkannte Kosten höchstens je m², Sonderfall"), null=True, blank=True)
    grant_cap_per_m2_special_case = MoneyField(_("Zuschuss höchstens je m², Sonderfall"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("Fördersatz-Regel je Maßnahme")
        verbose_name_plural = _("Regeln je Maßnahme")
        constraints = [models.UniqueConstraint(fields=["version", "component"], name="one_rule_per_component")]

    def __str__(self) -> str:
        return self.get_component_display()

    def graded_caps(self) -> dict[str, PerM2Caps]:
        """The per-m² caps of the higher building categories this rule grades; none when it grades none."""
        graded = {}
        for category in (BuildingCategory.SPECIAL_VALUE, BuildingCategory.SPECIAL_CASE):
            caps = PerM2Caps(
                getattr(self, f"cost_cap_per_m2_{category}"), getattr(self, f"grant_cap_per_m2_{category}")
            )
            if caps != PerM2Caps():
                graded[str(category)] = caps
        return graded


def _normalise_street(street: str) -> str:
    street = street.strip().lower().replace("ß", "ss")
    street = re.sub(r"str(asse|\.)?\b", "str", street)
    return re.sub(r"[\s\-.]+", "", street)


def _house_number(house_number: str) -> int | None:
    match = re.match(r"\s*(\d+)", house_number)
    return int(match.group(1)) if match else None


class FundingAreaStreet(_FrozenWithVersion):
    """One street, or a range of its house numbers, inside the funding area of a guideline version."""

    class Parity(models.TextChoices):
        ALL = "all", _("alle")
        EVEN = "even", _("gerade")
        ODD = "odd", _("ungerade")

    version = models.ForeignKey(
        GuidelineVersion, verbose_name=_("Fassung"), on_delete=models.CASCADE, related_name="funding_area"
    )
    street = models.CharField(_("Straße"), max_length=200)
    number_from = models.PositiveIntegerField(_("ab Hausnummer"), null=True, blank=True)
    number_to = models.PositiveIntegerField(_("bis Hausnummer"), null=True, blank=True)
    parity = models.CharField(_("Hausnummern"), max_length=4, choices=Parity.choices, default=Parity.ALL)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("Straße im Fördergebiet")
        verbose_name_plural = _("Fördergebiet")
        constraints = [
            models.CheckConstraint(
                condition=Q(number_from__isnull=True)
                | Q(number_to__isnull=True)
                | Q(number_to__gte=models.F("number_from")),
                name="funding_area_range_in_order",
                violation_error_message=_("Die Hausnummern-Spanne ist verkehrt herum."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.street} {self.number_from or ''}–{self.number_to or ''}".strip(" –")

    def covers(self, street: str, house_number: str) -> bool:
        if _normalise_street(street) != _normalise_street(self.street):
            return False
        number = _house_number(house_number)
        if number is None:
            return self.number_from is None and self.number_to is None
        if self.number_from is not None and number < self.number_from:
            return False
        if self.number_to is not None and number > self.number_to:
            return False
        return not (
            (self.parity == self.Parity.EVEN and number % 2) or (self.parity == self.Parity.ODD and not number % 2)
        )


def _permitted(action: str):
    """django-fsm permission hook; the rule itself lives in grants.rules."""

    def check(instance, user) -> bool:
        from .rules import decide

        return decide(user, action, instance).allowed

    return check


def _while_approved(name: str, *conditions):
    """A step that keeps the case approved: django-fsm's APPROVED → APPROVED transition ``name``, logged as all are.

    The steps after approval (extensions, changes, invoices, partial payments, the proof of use) differ only in their
    name and their conditions; who may take them is grants.rules', what else they do grants.services'.
    """

    def step(self, *, by=None, description=None) -> None:
        pass

    step.__name__ = step.__qualname__ = name
    approved = "approved"  # GrantApplication.State.APPROVED, defined with the model below
    guarded = transition(
        field="state", source=approved, target=approved, conditions=list(conditions), permission=_permitted(name)
    )(step)
    return fsm_log_by(fsm_log_description(guarded))


def _keeping_state(name: str, sources: tuple[str, ...], *conditions):
    """A step that leaves the case in the state it is in, from any of ``sources`` (the revocation's steps).

    As ``_while_approved`` for more than one state: django-fsm's target is the state the case is in, one of them.
    """

    def step(self, *, by=None, description=None) -> None:
        pass

    step.__name__ = step.__qualname__ = name
    guarded = transition(
        field="state",
        source=list(sources),
        target=GET_STATE(lambda instance, *args, **kwargs: instance.state, states=list(sources)),
        conditions=list(conditions),
        permission=_permitted(name),
    )(step)
    return fsm_log_by(fsm_log_description(guarded))


def refused_with(message):
    """Give a django-fsm condition the words a refused step shows while it is not met (read by grants.steps)."""

    def mark(condition):
        condition.refusal = message
        return condition

    return mark


@refused_with(_("Die Schlussrechnung ist noch nicht als sachlich richtig bestätigt."))
def invoices_certified(application: GrantApplication) -> bool:
    """Paying needs the final invoices certified (sachlich richtig): only then is the payable amount known."""
    return application.payable_amount is not None


# The same condition as a filter, for the queues (grants.steps).
INVOICES_CERTIFIED = Q(payable_amount__isnull=False)


@refused_with(_("Zu diesem Antrag ist bereits eine Fristverlängerung beantragt und noch nicht entschieden."))
def no_open_extension(application: GrantApplication) -> bool:
    return application.extension_requested_at is None


@refused_with(_("Die Schlussrechnung ist schon bestätigt; das ist nur bis dahin möglich."))
def invoices_not_certified(application: GrantApplication) -> bool:
    return application.payable_amount is None


@refused_with(_("Zu diesem Antrag ist keine Fristverlängerung beantragt."))
def extension_open(application: GrantApplication) -> bool:
    return application.extension_requested_at is not None


# A case waiting for the decision on its deadline extension, for the caseworker's queue (grants.steps).
EXTENSION_REQUESTED = Q(extension_requested_at__isnull=False)


@refused_with(_("Zu diesem Antrag ist bereits ein Änderungsantrag gestellt und noch nicht entschieden."))
def no_open_change(application: GrantApplication) -> bool:
    return application.open_change_id is None


@refused_with(_("Zu diesem Antrag ist kein Änderungsantrag offen."))
def change_open(application: GrantApplication) -> bool:
    return application.open_change_id is not None


@refused_with(_("Der Änderungsantrag ist schon geprüft."))
def change_unchecked(application: GrantApplication) -> bool:
    # Only of an open change (change_open speaks of none), as the next one.
    return application.open_change_id is None or application.open_change.checked_at is None


@refused_with(_("Der Änderungsantrag ist noch nicht geprüft."))
def change_checked(application: GrantApplication) -> bool:
    return application.open_change_id is None or application.open_change.checked_at is not None


@refused_with(
    _(
        "Auf diesen Antrag ist schon ein Abschlag gezahlt; zurückziehen lässt er sich nicht mehr. Die Verwaltung "
        "kann den Bescheid widerrufen und den Abschlag zurückfordern."
    )
)
def nothing_paid_yet(application: GrantApplication) -> bool:
    return not application.paid_amount


@refused_with(_("Zu diesem Antrag ist keine Rechnung zu prüfen."))
def invoice_to_certify(application: GrantApplication) -> bool:
    return application.invoices.filter(certified_at__isnull=True).exists()


@refused_with(_("Es gibt keine geprüfte Rechnung, auf die noch kein Abschlag gezahlt ist."))
def invoice_to_pay(application: GrantApplication) -> bool:
    return application.invoices.filter(certified_at__isnull=False, partial_payment__isnull=True).exists()


@refused_with(_("Das Förderprogramm sieht keine Abschlagszahlungen vor."))
def partial_payments_allowed(application: GrantApplication) -> bool:
    return application.programme.partial_payment_percent > 0


# A case whose change request waits for the check, and one whose checked change waits for the decision (the queues).
CHANGE_TO_CHECK = Q(open_change__isnull=False, open_change__checked_at__isnull=True)
CHANGE_TO_DECIDE = Q(open_change__isnull=False, open_change__checked_at__isnull=False)


@refused_with(_("Der Verwendungsnachweis ist eingereicht und noch nicht geprüft."))
def no_proof_waiting(application: GrantApplication) -> bool:
    return application.proof_submitted_at is None


@refused_with(_("Der Verwendungsnachweis ist schon geprüft und anerkannt."))
def proof_not_accepted(application: GrantApplication) -> bool:
    return application.proof_accepted_at is None


@refused_with(_("Zu diesem Antrag wartet kein Verwendungsnachweis auf die Prüfung."))
def proof_waiting(application: GrantApplication) -> bool:
    return application.proof_submitted_at is not None


# A case whose owner's proof of use waits for the caseworker's check (the queues).
PROOF_SUBMITTED = Q(proof_submitted_at__isnull=False)


# --- revocation (Widerruf, Rücknahme) and reclaim (Erstattung) -----------------------------------

# The states a notice granting money can be revoked in, and those in which what it reclaims is repaid.
REVOCABLE = ("approved", "paid", "documented")
RECLAIMABLE = (*REVOCABLE, "revoked")


@refused_with(_("Zu diesem Antrag läuft ein Widerrufsverfahren; bis zu seinem Abschluss ruht dieser Schritt."))
def no_open_revocation(application: GrantApplication) -> bool:
    return application.open_revocation_id is None


@refused_with(_("Zu diesem Antrag läuft keine Anhörung vor einem Widerruf."))
def revocation_in_hearing(application: GrantApplication) -> bool:
    revocation = application.open_revocation
    return revocation is not None and revocation.outcome == Revocation.Outcome.OPEN


@refused_with(_("Die Antragsteller/in hat sich zu der Anhörung schon geäußert."))
def hearing_unanswered(application: GrantApplication) -> bool:
    revocation = application.open_revocation
    return revocation is None or revocation.answered_at is None


@refused_with(
    _(
        "Die Frist zur Äußerung in der Anhörung läuft noch (§ 28 VwVfG); entschieden wird nach der Antwort oder "
        "nach Ablauf der Frist."
    )
)
def hearing_over(application: GrantApplication) -> bool:
    revocation = application.open_revocation
    return revocation is None or revocation.hearing_over(timezone.localdate())


@refused_with(_("Zu diesem Antrag ist keine Erstattung offen."))
def reclaim_open(application: GrantApplication) -> bool:
    revocation = application.open_revocation
    return revocation is not None and revocation.outcome != Revocation.Outcome.OPEN


@refused_with(_("Die Erstattung ist noch nicht fällig; erinnert wird erst nach dem Fälligkeitstag."))
def reclaim_overdue(application: GrantApplication) -> bool:
    revocation = application.open_revocation
    return revocation is None or (revocation.due_on is not None and revocation.due_on < timezone.localdate())


def _after_decision(application: GrantApplication, *args, **kwargs) -> str:
    """Where a decision on the revocation leaves the case: revoked as a whole when nothing of the grant is left
    (grants.revocations sets the grant the decision leaves before it takes the step), else as it was."""
    return "revoked" if application.approved_grant == 0 else application.state


# --- commitment period (Zweckbindung) ----------------------------------------------------------

# The states of a paid case, whose commitment period runs (grants.commitment).
COMMITTED = ("paid", "documented")


@refused_with(_("Der Antrag ist nicht in seiner Zweckbindungsfrist."))
def in_commitment_period(application: GrantApplication) -> bool:
    start, end = application.commitment_from, application.commitment_until
    return start is not None and end is not None and start <= timezone.localdate() <= end


@refused_with(_("Zu diesem Antrag ist schon eine Veräußerung gemeldet; sie wird geprüft."))
def no_sale_pending(application: GrantApplication) -> bool:
    return application.sale_reported_at is None


# A reported sale the caseworker has not taken up in a revocation case yet (the queue).
SALE_REPORTED = Q(sale_reported_at__isnull=False, open_revocation__isnull=True)

# Revocation cases in their hearing, and those whose reclaim waits for the repayment (the queues).
IN_HEARING = Q(open_revocation__isnull=False, open_revocation__outcome="open")
RECLAIM_OPEN = Q(open_revocation__isnull=False) & ~Q(open_revocation__outcome="open")

# The limits of the free texts without a max_length of their own, for every door (API, portal, workspace).
DESCRIPTION_MAX_LENGTH = 5000  # an application's description of its measures
COMMENT_MAX_LENGTH = 2000  # the comment of a step, kept in the application's history


class GrantApplication(FSMModelMixin, models.Model):
    """Antrag: one application for measures on one property, with its lifecycle."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Entwurf")
        SUBMITTED = "submitted", _("eingereicht")
        CHECKED = "checked", _("geprüft")
        APPROVED = "approved", _("bewilligt")
        PAID = "paid", _("ausgezahlt")
        DOCUMENTED = "documented", _("abgeschlossen")
        REJECTED = "rejected", _("abgelehnt")
        WITHDRAWN = "withdrawn", _("zurückgezogen")
        REVOKED = "revoked", _("aufgehoben")  # the whole grant revoked (§ 49 VwVfG) or withdrawn (§ 48 VwVfG)

    programme = models.ForeignKey(
        Programme, verbose_name=_("Förderprogramm"), on_delete=models.PROTECT, related_name="applications"
    )
    applicant = models.ForeignKey(
        Applicant, verbose_name=_("Antragsteller/in"), on_delete=models.PROTECT, related_name="applications"
    )
    property = models.ForeignKey(
        Property, verbose_name=_("Grundstück"), on_delete=models.PROTECT, related_name="applications"
    )
    consultation = models.ForeignKey(
        Consultation, verbose_name=_("Erstberatung"), on_delete=models.PROTECT, null=True, blank=True
    )
    # The guideline version the case is computed under: the programme's while a draft never submitted, fixed at
    # the first submission, kept by check and approval, changed only by a logged re-base of a pending case.
    guideline_version = models.ForeignKey(
        GuidelineVersion,
        verbose_name=_("Fassung der Förderrichtlinie"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="applications",
    )
    file_number = models.CharField(_("Aktenzeichen"), max_length=30, blank=True, default="", editable=False)
    state = FSMField(_("Status"), default=State.DRAFT, choices=State.choices, protected=True, db_index=True)
    description = models.TextField(_("Beschreibung der Maßnahme"), blank=True)
    works_started_on = models.DateField(_("Maßnahmebeginn"), null=True, blank=True)
    early_start_permitted = models.BooleanField(_("vorzeitiger Maßnahmebeginn genehmigt"), default=False)
    created_at = models.DateTimeField(_("angelegt am"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("eingereicht am"), null=True, blank=True, editable=False)

    total_costs = MoneyField(_("Gesamtkosten"), default=Decimal("0.00"), editable=False)
    eligible_costs = MoneyField(_("förderfähige Kosten"), default=Decimal("0.00"), editable=False)
    computed_grant = MoneyField(_("errechneter Zuschuss"), default=Decimal("0.00"), editable=False)
    computation = models.JSONField(_("Berechnung"), default=dict, blank=True, editable=False)

    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    checked_at = models.DateTimeField(_("geprüft am"), null=True, blank=True, editable=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    approved_at = models.DateTimeField(_("bewilligt am"), null=True, blank=True, editable=False)
    approved_grant = MoneyField(_("bewilligter Zuschuss"), null=True, blank=True, editable=False)
    budget_year = models.PositiveSmallIntegerField(_("Programmjahr"), null=True, blank=True, editable=False)
    completion_deadline = models.DateField(_("Durchführungsfrist"), null=True, blank=True, editable=False)
    invoice_deadline = models.DateField(_("Frist Schlussrechnung"), null=True, blank=True, editable=False)
    invoices_certified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    invoices_certified_at = models.DateTimeField(_("sachlich richtig am"), null=True, blank=True, editable=False)
    payable_amount = MoneyField(_("auszuzahlender Betrag"), null=True, blank=True, editable=False)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    paid_at = models.DateTimeField(_("ausgezahlt am"), null=True, blank=True, editable=False)
    # The commitment period (Zweckbindungsfrist), set by the final payment: from the completion the accepted proof of
    # use states (else the day of payment), for the guideline's years (grants.commitment).
    commitment_from = models.DateField(_("Zweckbindung ab"), null=True, blank=True, editable=False)
    commitment_until = models.DateField(_("Zweckbindung bis"), null=True, blank=True, editable=False)
    # The owner's report of a sale or change of use, until staff take it up in a revocation case (the queue).
    sale_reported_at = models.DateTimeField(_("Veräußerung gemeldet am"), null=True, blank=True, editable=False)
    paid_amount = MoneyField(_("ausgezahlter Betrag"), null=True, blank=True, editable=False)
    # Set while a deadline extension waits for its decision (DeadlineExtension holds the request itself).
    extension_requested_at = models.DateTimeField(
        _("Fristverlängerung beantragt am"), null=True, blank=True, editable=False
    )
    # The change request (Änderungsantrag) not yet decided; its rows keep every version of the measures and costs.
    open_change = models.ForeignKey(
        "ChangeRequest",
        verbose_name=_("offener Änderungsantrag"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    # Set while the owner's proof of use waits for its check (ProofOfUse holds the proof itself), and once accepted.
    proof_submitted_at = models.DateTimeField(
        _("Verwendungsnachweis eingereicht am"), null=True, blank=True, editable=False
    )
    proof_accepted_at = models.DateTimeField(
        _("Verwendungsnachweis anerkannt am"), null=True, blank=True, editable=False
    )
    # The revocation case (Widerrufsverfahren) not yet finished: from its hearing until what it reclaims is repaid.
    open_revocation = models.ForeignKey(
        "Revocation",
        verbose_name=_("offenes Widerrufsverfahren"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    # De-minimis aid (grants.deminimis): the programme's regulation and ceiling, fixed at the first submission; and
    # the caseworker's decision to reduce the grant to what the single undertaking's ceiling leaves, with its reason.
    deminimis_regulation = models.CharField(
        _("De-minimis-Beihilfe nach"),
        db_default="",
        max_length=20,
        choices=DeminimisRegulation.choices,
        blank=True,
        editable=False,
    )
    deminimis_ceiling = MoneyField(_("De-minimis-Höchstbetrag"), null=True, blank=True, editable=False)
    deminimis_reduced_to = MoneyField(
        _("wegen des De-minimis-Höchstbetrags gekürzt auf"), null=True, blank=True, editable=False
    )
    deminimis_reduction_reason = models.TextField(
        _("Begründung der Kürzung"), db_default="", blank=True, editable=False
    )
    deminimis_reduced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    deminimis_reduced_at = models.DateTimeField(_("gekürzt am"), null=True, blank=True, editable=False)
    # What a revocation asks back of the paid grant and is not repaid yet (its principal; interest is apart).
    reclaim_outstanding = MoneyField(_("offene Erstattung"), default=Decimal("0.00"), editable=False)
    updated_at = models.DateTimeField(_("zuletzt geändert am"), auto_now=True)
    anonymised_at = models.DateTimeField(_("anonymisiert am"), null=True, blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("Antrag")
        verbose_name_plural = _("Anträge")
        ordering = ["-created_at"]
        # The default order of the API (newest first): a page of 25 reads the index instead of sorting every
        # application (issue 8's list figures). The workspace's order (newest submission first, drafts last) has
        # its index in migration 0006, written per database: SQLite cannot say NULLS LAST in an index.
        indexes = [models.Index(F("created_at").desc(), F("id").desc(), name="application_newest_created")]
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "file_number"],
                condition=~Q(file_number=""),
                name="file_number_unique_per_programme",
            ),
            models.CheckConstraint(
                condition=Q(approved_grant__isnull=True)
                | Q(paid_amount__isnull=True)
                | Q(paid_amount__lte=models.F("approved_grant") + models.F("reclaim_outstanding")),
                # What a revocation lowered the grant below is owed back (reclaim_outstanding) until it is repaid.
                name="never_pay_more_than_approved",
            ),
        ]

    def __str__(self) -> str:
        return self.file_number or _("Entwurf Nr. %(id)s") % {"id": self.pk}

    def terms(self) -> GuidelineVersion:
        """The guideline version that applies: the one recorded at submission, else the programme's current one.

        A later guideline applies only to later applications: once submitted (also when returned to the
        applicant and submitted again), the case keeps the version it was submitted under.
        """
        if self.submitted_at is not None and self.guideline_version_id is not None:
            return self.guideline_version  # type: ignore[return-value]
        version = self.programme.current_version
        if version is None:
            raise ValidationError(_("Für dieses Programm ist noch keine Förderrichtlinie hinterlegt."))
        return version

    def compute(self, *, stage: str = "quote") -> GrantResult:
        """The grant the case's guideline version gives for the quoted (or, at payment, the invoiced) costs."""
        return self.compute_for(
            (component, [i for i in component.cost_items.all() if i.stage == stage])
            for component in self.components.all()
        )

    def compute_for(self, measures: Iterable[tuple[Any, Iterable[Any]]]) -> GrantResult:
        """The one mapping from measures and their costs to the calculator, under the case's guideline version.

        ``measures`` are pairs of a measure (``kind``, ``area_m2``, ``category``) and its cost lines
        (``net_amount``, ``vat_amount``, ``ancillary``): the saved rows (``compute``) or what was entered
        but not saved (``ComponentInput`` and its ``CostInput``s, ``grants.selectors.grant_preview``).
        """
        components = [
            ComponentCosts(
                kind=measure.kind,
                area_m2=measure.area_m2,
                category=measure.category,
                items=[CostLine(net=i.net_amount, vat=i.vat_amount, ancillary=i.ancillary) for i in costs],
            )
            for measure, costs in measures
        ]
        terms = self.terms()
        return compute_grant(terms.guideline(), components, net=terms.counts_net(self.applicant))

    def is_deminimis(self) -> bool:
        """Whether the grant is de-minimis aid: as fixed at submission, before it as the programme says now."""
        if self.submitted_at is not None:
            return bool(self.deminimis_regulation)
        return self.programme.is_deminimis

    def grant_due(self) -> Decimal:
        """The grant the approval commits: the computed one, capped by a de-minimis reduction where recorded."""
        if self.deminimis_reduced_to is not None:
            return min(self.computed_grant, self.deminimis_reduced_to)
        return self.computed_grant

    def store_computation(self, result: GrantResult) -> None:
        self.guideline_version = self.terms()
        self.total_costs = result.costs
        self.eligible_costs = result.eligible
        self.computed_grant = result.grant
        self.computation = result.as_dict()

    # The transitions change only the object; ledger, log and letters belong to grants.services, and what
    # else is known of each step (who, words, letter, queue) to grants.steps.
    # ("check" is Django's model-check hook, so that transition is named mark_checked.)

    @fsm_log_by
    @fsm_log_description
    @transition(field=state, source=State.DRAFT, target=State.SUBMITTED, permission=_permitted("submit"))
    def submit(self, *, by=None, description=None) -> None:
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(field=state, source=State.SUBMITTED, target=State.DRAFT, permission=_permitted("return_to_applicant"))
    def return_to_applicant(self, *, by=None, description=None) -> None:
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(field=state, source=State.SUBMITTED, target=State.CHECKED, permission=_permitted("check"))
    def mark_checked(self, *, by=None, description=None) -> None:
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(field=state, source=State.CHECKED, target=State.APPROVED, permission=_permitted("approve"))
    def approve(self, *, by=None, description=None) -> None:
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(
        field=state, source=[State.SUBMITTED, State.CHECKED], target=State.REJECTED, permission=_permitted("reject")
    )
    def reject(self, *, by=None, description=None) -> None:
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(
        field=state,
        source=[State.DRAFT, State.SUBMITTED, State.CHECKED, State.APPROVED],
        target=State.WITHDRAWN,
        conditions=[nothing_paid_yet],
        permission=_permitted("withdraw"),
    )
    def withdraw(self, *, by=None, description=None) -> None:
        pass

    # Sachlich richtig: the application stays approved; the step is logged like every other.
    certify_invoices = _while_approved("certify_invoices", no_open_change, no_proof_waiting, no_open_revocation)

    @fsm_log_by
    @fsm_log_description
    @transition(
        field=state,
        source=State.APPROVED,
        target=State.PAID,
        conditions=[invoices_certified, no_open_revocation],
        permission=_permitted("pay"),
    )
    def pay(self, *, by=None, description=None) -> None:
        pass

    # Invoices as records: each one certified on its own, partial payments against them; the case stays approved.
    record_invoice = _while_approved("record_invoice", invoices_not_certified)
    certify_invoice = _while_approved("certify_invoice", invoices_not_certified, invoice_to_certify)
    pay_partial = _while_approved(
        "pay_partial", invoices_not_certified, partial_payments_allowed, invoice_to_pay, no_open_revocation
    )

    @fsm_log_by
    @fsm_log_description
    @transition(field=state, source=State.PAID, target=State.DOCUMENTED, permission=_permitted("document"))
    def document(self, *, by=None, description=None) -> None:
        pass

    # Deadline extension (Fristverlängerung): the case stays approved; request and decision are logged.
    request_extension = _while_approved("request_extension", invoices_not_certified, no_open_extension, no_open_change)
    grant_extension = _while_approved("grant_extension", extension_open)
    refuse_extension = _while_approved("refuse_extension", extension_open)

    # Change request (Änderungsantrag): the case stays approved; request, check and decision are logged.
    request_change = _while_approved("request_change", invoices_not_certified, no_open_change, no_open_extension)
    check_change = _while_approved("check_change", change_open, change_unchecked)
    approve_change = _while_approved("approve_change", change_open, change_checked)
    refuse_change = _while_approved("refuse_change", change_open)

    # The owner's proof of use (Verwendungsnachweis): the case stays approved; submission and check are logged.
    submit_proof = _while_approved("submit_proof", invoices_not_certified, no_proof_waiting, proof_not_accepted)
    accept_proof = _while_approved("accept_proof", proof_waiting)
    return_proof = _while_approved("return_proof", proof_waiting)

    # Revocation (Widerruf § 49, Rücknahme § 48 VwVfG): hearing, the owner's answer, the decision, the reclaim.
    open_revocation_case = _keeping_state("open_revocation_case", REVOCABLE, no_open_revocation)
    answer_hearing = _keeping_state("answer_hearing", REVOCABLE, revocation_in_hearing, hearing_unanswered)
    close_revocation = _keeping_state("close_revocation", REVOCABLE, revocation_in_hearing)
    remind_reclaim = _keeping_state("remind_reclaim", RECLAIMABLE, reclaim_open, reclaim_overdue)
    book_repayment = _keeping_state("book_repayment", RECLAIMABLE, reclaim_open)
    # The commitment period: an inspection on site, and the owner's report of a sale or change of use.
    record_inspection = _keeping_state("record_inspection", COMMITTED, in_commitment_period)
    report_sale = _keeping_state("report_sale", COMMITTED, in_commitment_period, no_sale_pending, no_open_revocation)

    class Commitment(models.TextChoices):
        RUNNING = "running", _("läuft")
        FULFILLED = "fulfilled", _("erfüllt")
        BROKEN = "broken", _("Widerruf")

    def commitment_status(self, on: date | None = None) -> str | None:
        """Where the commitment period stands: running, fulfilled after its end, or broken by a revocation case."""
        if self.commitment_until is None:
            return None
        if self.state == "revoked" or self.open_revocation_id is not None:
            return self.Commitment.BROKEN
        if any(r.outcome in ("revoked", "withdrawn") for r in self.revocations.all()):  # prefetched on the lists
            return self.Commitment.BROKEN
        on = on or timezone.localdate()
        return self.Commitment.FULFILLED if on > self.commitment_until else self.Commitment.RUNNING

    def commitment_label(self) -> str:
        status = self.commitment_status()
        return str(self.Commitment(status).label) if status else ""

    @fsm_log_by
    @fsm_log_description
    @transition(
        field=state,
        source=list(REVOCABLE),
        target=GET_STATE(_after_decision, states=list(RECLAIMABLE)),
        conditions=[revocation_in_hearing, hearing_over],
        permission=_permitted("decide_revocation"),
    )
    def decide_revocation(self, *, by=None, description=None) -> None:
        pass


class MeasureComponent(models.Model):
    """One measure of an application (façade, courtyard, …) with its area and cost items."""

    application = models.ForeignKey(GrantApplication, on_delete=models.CASCADE, related_name="components")
    kind = models.CharField(_("Maßnahme"), max_length=20, choices=MeasureKind.choices)
    area_m2 = models.DecimalField(
        _("Fläche in m²"),
        max_digits=9,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100000"))],
    )
    description = models.CharField(_("Beschreibung"), max_length=300, blank=True)
    category = models.CharField(
        _("Gebäudekategorie"),
        max_length=20,
        choices=BuildingCategory.choices,
        default=BuildingCategory.STANDARD,
        help_text=_("für Programme, die die Höchstbeträge je m² nach Gebäuden staffeln"),
    )

    class Meta:
        verbose_name = _("Maßnahme")
        verbose_name_plural = _("Maßnahmen")
        constraints = [
            models.CheckConstraint(condition=Q(area_m2__gt=0), name="component_area_positive"),
            models.UniqueConstraint(fields=["application", "kind"], name="one_component_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.area_m2} m²)"


class CostItem(models.Model):
    """A cost position from a quote (application) or a final invoice (payment)."""

    class Stage(models.TextChoices):
        QUOTE = "quote", _("Angebot")
        INVOICE = "invoice", _("Schlussrechnung")

    component = models.ForeignKey(MeasureComponent, on_delete=models.CASCADE, related_name="cost_items")
    stage = models.CharField(_("Art"), max_length=10, choices=Stage.choices, default=Stage.QUOTE)
    description = models.CharField(_("Leistung"), max_length=300)
    net_amount = MoneyField(_("netto"))
    vat_amount = MoneyField(_("Umsatzsteuer"), default=Decimal("0.00"))
    ancillary = models.BooleanField(_("Baunebenkosten"), default=False)

    class Meta:
        verbose_name = _("Kostenposition")
        verbose_name_plural = _("Kostenpositionen")
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    net_amount__gte=0,
                    net_amount__lte=MAX_AMOUNT,
                    vat_amount__gte=0,
                    vat_amount__lte=models.F("net_amount"),
                ),
                name="cost_item_amounts_plausible",
            )
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.net_amount} € netto"

    def clean(self) -> None:
        # Says in words what the check constraint below enforces.
        if self.net_amount is not None and self.vat_amount is not None and self.vat_amount > self.net_amount:
            raise ValidationError({"vat_amount": _("Die Umsatzsteuer kann nicht höher sein als der Nettobetrag.")})


def document_upload_to(instance: Document, filename: str) -> str:
    return f"applications/{instance.application_id}/{filename}"


class Document(models.Model):
    """A file handed in with an application: quote, photo, land register extract, consent, invoice."""

    class Kind(models.TextChoices):
        QUOTE = "quote", _("Angebot / Kostenvoranschlag")
        PHOTO_BEFORE = "photo_before", _("Foto vor der Maßnahme")
        LAND_REGISTER = "land_register", _("Grundbuchauszug")
        OWNER_CONSENT = "owner_consent", _("Zustimmung der Eigentümerseite")
        INVOICE = "invoice", _("Schlussrechnung")
        CHANGE = "change", _("Unterlage zum Änderungsantrag")
        PAYMENT_PROOF = "payment_proof", _("Zahlungsnachweis")
        PHOTO_AFTER = "photo_after", _("Foto nach der Maßnahme")
        INSPECTION = "inspection", _("Foto der Vor-Ort-Kontrolle")
        OTHER = "other", _("Sonstiges")

    application = models.ForeignKey(GrantApplication, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("Art"), max_length=20, choices=Kind.choices)
    file = models.FileField(_("Datei"), upload_to=document_upload_to)
    original_name = models.CharField(_("Dateiname"), max_length=255)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    uploaded_at = models.DateTimeField(_("hochgeladen am"), auto_now_add=True)
    removed_at = models.DateTimeField(
        _("Datei gelöscht am"), null=True, blank=True, editable=False, help_text=_("nach Ablauf der Aufbewahrungsfrist")
    )
    einvoice = models.JSONField(
        _("E-Rechnung"),
        blank=True,
        default=dict,
        editable=False,
        help_text=_("die Angaben einer E-Rechnung (ZUGFeRD, Factur-X, XRechnung), beim Hochladen gelesen"),
    )

    class Meta:
        verbose_name = _("Dokument")
        verbose_name_plural = _("Dokumente")
        ordering = ["uploaded_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.original_name}"

    @property
    def einvoice_issue_date(self) -> date | None:
        """The e-invoice's date as a date, for showing it in the active language's format."""
        value = (self.einvoice or {}).get("issue_date")
        try:
            return date.fromisoformat(value) if value else None
        except (TypeError, ValueError):
            return None


class LetterKind(models.TextChoices):
    RECEIPT = "receipt", _("Eingangsbestätigung")
    DOCUMENTS_REQUEST = "documents_request", _("Nachforderung von Unterlagen")
    APPROVAL = "approval", _("Zuwendungsbescheid")
    REJECTION = "rejection", _("Ablehnungsbescheid")
    PAYMENT = "payment", _("Auszahlungsmitteilung")
    EXTENSION = "extension", _("Bescheid über die Fristverlängerung")
    EXTENSION_REFUSAL = "extension_refusal", _("Ablehnung der Fristverlängerung")
    CHANGE = "change", _("Änderungsbescheid")
    CHANGE_REFUSAL = "change_refusal", _("Ablehnung des Änderungsantrags")
    PARTIAL_PAYMENT = "partial_payment", _("Mitteilung über eine Abschlagszahlung")
    HEARING = "hearing", _("Anhörung vor Widerruf oder Rücknahme")
    REVOCATION = "revocation", _("Widerrufs- oder Rücknahmebescheid mit Erstattung")
    REVOCATION_CLOSED = "revocation_closed", _("Einstellung des Widerrufsverfahrens")
    RECLAIM_REMINDER = "reclaim_reminder", _("Zahlungserinnerung zur Erstattung")
    DEMINIMIS_CERTIFICATE = "deminimis_certificate", _("De-minimis-Bescheinigung")


class LetterTemplate(models.Model):
    """The wording of one kind of letter for a municipality, or for one of its programmes.

    Staff edit these in the admin; subject and body are Django templates with the case's
    data (see grants.letters.letter_context). A programme's template wins over the
    municipality's; without either, the German default set in grants.letter_defaults applies.
    """

    municipality = models.ForeignKey(
        Municipality, verbose_name=_("Kommune"), on_delete=models.CASCADE, related_name="letter_templates"
    )
    programme = models.ForeignKey(
        Programme,
        verbose_name=_("nur für Programm"),
        on_delete=models.CASCADE,
        related_name="letter_templates",
        null=True,
        blank=True,
    )
    kind = models.CharField(_("Art"), max_length=30, choices=LetterKind.choices)
    letterhead = models.TextField(
        _("Briefkopf"), blank=True, help_text=_("leer: amtliche Bezeichnung und Anschrift der Kommune")
    )
    subject = models.CharField(_("Betreff"), max_length=300)
    body = models.TextField(_("Text"), help_text=_("Django-Vorlagensprache, z. B. {{ application.file_number }}"))
    signatory = models.TextField(_("Unterschrift"), help_text=_("Name und Funktion, eine Zeile je Angabe"))
    legal_remedy_notice = models.TextField(_("Rechtsbehelfsbelehrung"), blank=True)

    class Meta:
        verbose_name = _("Briefvorlage")
        verbose_name_plural = _("Briefvorlagen")
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "kind"], condition=Q(programme__isnull=True), name="one_default_letter_per_kind"
            ),
            models.UniqueConstraint(
                fields=["programme", "kind"], condition=Q(programme__isnull=False), name="one_programme_letter_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} – {self.programme or self.municipality}"

    def clean(self) -> None:
        if self.programme_id and self.programme.municipality_id != self.municipality_id:
            raise ValidationError({"programme": _("Das Programm gehört zu einer anderen Kommune.")})
        for field in ("subject", "body", "letterhead", "signatory", "legal_remedy_notice"):
            try:
                # Rendered once with no data: also refuses {% include %} of templates it may not load.
                WORDING_ENGINE.from_string("{% load formatting %}" + getattr(self, field)).render(Context())
            except (TemplateSyntaxError, TemplateDoesNotExist) as error:
                raise ValidationError({field: _("Fehler in der Vorlage: %(error)s") % {"error": error}}) from None


def letter_upload_to(instance: Letter, filename: str) -> str:
    return f"letters/{instance.application_id}/{filename}"


class Letter(AppendOnlyModel):
    """A generated letter (PDF/A-3b), stored with its SHA-256 and never changed."""

    unchanged_message = _("Ein erzeugtes Schreiben wird nie geändert; eine Korrektur ist ein neues Schreiben.")
    undeleted_message = _("Ein erzeugtes Schreiben wird nie gelöscht.")

    application = models.ForeignKey(GrantApplication, on_delete=models.PROTECT, related_name="letters")
    kind = models.CharField(_("Art"), max_length=30, choices=LetterKind.choices)
    key = models.CharField(
        _("Schlüssel"), max_length=100, unique=True, help_text=_("macht die Erzeugung wiederholbar ohne Dubletten")
    )
    subject = models.CharField(_("Betreff"), max_length=300)
    file = models.FileField(_("Datei"), upload_to=letter_upload_to)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    corrects = models.ForeignKey(
        "self", verbose_name=_("berichtigt"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("erzeugt am"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    file_removed_at = models.DateTimeField(_("PDF gelöscht am"), null=True, blank=True, editable=False)
    file_removed_note = models.CharField(_("Vermerk zur Löschung"), max_length=300, blank=True, editable=False)

    class Meta:
        verbose_name = _("Schreiben")
        verbose_name_plural = _("Schreiben")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.application}"

    def remove_file(self, *, note: str) -> None:
        """Delete the PDF once the retention period has run out; the row keeps its SHA-256 as proof.

        The one change a letter ever sees, so it bypasses the immutable save on purpose.
        """
        if self.file:
            self.file.delete(save=False)
        self.file_removed_at = timezone.now()
        self.file_removed_note = note[:300]
        models.QuerySet(model=Letter).filter(pk=self.pk).update(
            file="", file_removed_at=self.file_removed_at, file_removed_note=self.file_removed_note
        )


# The kinds of letter that are notices (Bescheide) with a legal remedy: their finality is followed (Notice).
NOTICE_KINDS = frozenset(
    {
        LetterKind.APPROVAL,
        LetterKind.REJECTION,
        LetterKind.EXTENSION,
        LetterKind.EXTENSION_REFUSAL,
        LetterKind.CHANGE,
        LetterKind.CHANGE_REFUSAL,
        LetterKind.REVOCATION,
    }
)


class DeemedNotificationRule(models.Model):
    """Bekanntgabefiktion: a posted notice counts as notified on the N-th day after posting, from a date on.

    Data, not code: the states change their procedure acts at different dates. A state without rows of its own
    follows the federal rows (§ 41 (2) VwVfG); the rows shipped are in docs/domain.md, and the admin can change them.
    """

    FEDERAL = "BUND"

    jurisdiction = models.CharField(
        _("Geltungsbereich"), max_length=4, choices=[(FEDERAL, _("Bund")), *Bundesland.choices]
    )
    valid_from = models.DateField(_("gilt für Aufgabe zur Post ab"))
    days = models.PositiveSmallIntegerField(
        _("Tage nach Aufgabe zur Post"), validators=[MinValueValidator(1), MaxValueValidator(14)]
    )
    source = models.CharField(_("Rechtsgrundlage / Vermerk"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("Bekanntgabefiktion")
        verbose_name_plural = _("Bekanntgabefiktionen")
        ordering = ["jurisdiction", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "valid_from"], name="one_deemed_rule_per_day"),
            models.CheckConstraint(condition=Q(days__gte=1, days__lte=14), name="deemed_days_in_range"),
        ]

    def __str__(self) -> str:
        return _("%(where)s ab %(date)s: %(days)s. Tag") % {
            "where": self.get_jurisdiction_display(),
            "date": self.valid_from.strftime("%d.%m.%Y") if self.valid_from else "",
            "days": self.days,
        }


class Notice(models.Model):
    """Bekanntgabe und Bestandskraft: how and when a notice (a letter of NOTICE_KINDS) went out, and its deadline.

    The letter itself never changes (AppendOnlyModel); this row is its sending and its finality. ``notified_on``,
    ``appeal_deadline`` and ``final_on`` are computed by grants.services with grants.finality and kept, so that lists
    can show and filter them; they are computed again on every write of the notice and its appeals.
    """

    class Via(models.TextChoices):
        POST = "post", _("Post")
        EMAIL = "email", _("E-Mail")
        PORTAL = "portal", _("Abruf im Portal")

    letter = models.OneToOneField(Letter, verbose_name=_("Schreiben"), on_delete=models.PROTECT, related_name="notice")
    remedy_notice = models.BooleanField(_("mit Rechtsbehelfsbelehrung"), default=True)
    # A remedy notice found wrong after the sending (§ 58 (2) VwGO): what is wrong with it; the year applies then.
    remedy_defect = models.TextField(_("Mangel der Rechtsbehelfsbelehrung"), max_length=2000, blank=True)
    sent_via = models.CharField(_("versandt per"), max_length=10, choices=Via.choices, blank=True)
    sent_on = models.DateField(_("versandt am"), null=True, blank=True)
    sent_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("Versand erfasst von"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    deemed_days = models.PositiveSmallIntegerField(_("Bekanntgabefiktion (Tage)"), null=True, blank=True)
    notified_on = models.DateField(_("bekannt gegeben am"), null=True, blank=True)
    appeal_deadline = models.DateField(_("Rechtsbehelfsfrist bis"), null=True, blank=True)
    first_downloaded_at = models.DateTimeField(_("zuerst im Portal abgerufen am"), null=True, blank=True)
    waiver_on = models.DateField(_("Rechtsbehelfsverzicht eingegangen am"), null=True, blank=True)
    waiver_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("Verzicht erfasst von"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    final_on = models.DateField(_("bestandskräftig ab"), null=True, blank=True)

    class Meta:
        verbose_name = _("Bekanntgabe")
        verbose_name_plural = _("Bekanntgaben")
        ordering = ["letter_id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(sent_via="") & Q(sent_on__isnull=True)) | (~Q(sent_via="") & Q(sent_on__isnull=False)),
                name="notice_sent_how_and_when",
            ),
            models.CheckConstraint(
                condition=Q(notified_on__isnull=True) | Q(sent_on__isnull=False), name="notice_notified_after_sending"
            ),
        ]

    def __str__(self) -> str:
        return str(self.letter)

    def _appeals(self) -> list[tuple[str, date | None]]:
        return [(a.outcome, a.decided_on) for a in self.appeals.all()]  # prefetched by the pages

    @property
    def standing(self) -> str:
        from .finality import standing

        return standing(
            sent=self.sent_on is not None, final=self.final_on, appeals=self._appeals(), today=timezone.localdate()
        )

    @property
    def status_text(self) -> str:
        """In words: final since …, not yet final (deadline …), an objection pending, …"""
        from .finality import Standing

        current = self.standing
        if current == Standing.FINAL:
            return _("bestandskräftig seit %(date)s") % {"date": f"{self.final_on:%d.%m.%Y}"}
        if current == Standing.PENDING:
            pending = next(a for a in self.appeals.all() if a.outcome == Appeal.Outcome.PENDING)
            return _("%(kind)s anhängig") % {"kind": pending.get_kind_display()}
        if current == Standing.SET_ASIDE:
            return _("Rechtsbehelf stattgegeben: der Bescheid gilt nicht wie erlassen")
        if current == Standing.OPEN and self.appeal_deadline:
            return _("noch nicht bestandskräftig (Frist bis %(date)s)") % {"date": f"{self.appeal_deadline:%d.%m.%Y}"}
        return _("noch nicht bestandskräftig (Versand nicht erfasst)")


class Appeal(models.Model):
    """Widerspruch or Klage against a notice: received, grounds, and its outcome. A pending one stops finality."""

    class Kind(models.TextChoices):
        OBJECTION = "objection", _("Widerspruch")
        LAWSUIT = "lawsuit", _("Klage")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("anhängig")
        GRANTED = "granted", _("stattgegeben")
        PARTLY = "partly", _("teilweise stattgegeben")
        REJECTED = "rejected", _("zurückgewiesen")
        WITHDRAWN = "withdrawn", _("zurückgenommen")

    application = models.ForeignKey(
        GrantApplication, verbose_name=_("Antrag"), on_delete=models.PROTECT, related_name="appeals"
    )
    notice = models.ForeignKey(Notice, verbose_name=_("Bescheid"), on_delete=models.PROTECT, related_name="appeals")
    kind = models.CharField(_("Art"), max_length=10, choices=Kind.choices)
    court = models.CharField(_("Gericht"), max_length=200, blank=True)
    received_on = models.DateField(_("eingegangen am"))
    grounds = models.TextField(_("Begründung"))
    outcome = models.CharField(_("Ergebnis"), max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    decided_on = models.DateField(_("entschieden am"), null=True, blank=True)
    decision_notes = models.TextField(_("Vermerk zur Entscheidung"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("erfasst von"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("erfasst am"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("Entscheidung erfasst von"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("Rechtsbehelf")
        verbose_name_plural = _("Rechtsbehelfe")
        ordering = ["received_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["notice"], condition=Q(outcome="pending"), name="one_pending_appeal_per_notice"
            ),
            models.CheckConstraint(condition=~Q(grounds=""), name="appeal_grounds_not_empty"),
            models.CheckConstraint(condition=~Q(kind="lawsuit") | ~Q(court=""), name="lawsuit_names_its_court"),
            models.CheckConstraint(
                condition=(Q(outcome="pending") & Q(decided_on__isnull=True))
                | (~Q(outcome="pending") & Q(decided_on__isnull=False)),
                name="appeal_decided_with_date",
            ),
            models.CheckConstraint(
                condition=Q(decided_on__isnull=True) | Q(decided_on__gte=F("received_on")),
                name="appeal_decided_after_receipt",
            ),
        ]

    def __str__(self) -> str:
        return _("%(kind)s vom %(date)s gegen %(notice)s") % {
            "kind": self.get_kind_display(),
            "date": self.received_on.strftime("%d.%m.%Y") if self.received_on else "",
            "notice": self.notice,
        }


class OutboundEmail(models.Model):
    """One e-mail Förderdesk sends; its key makes a retried task send nothing twice."""

    key = models.CharField(_("Schlüssel"), max_length=150, unique=True)
    application = models.ForeignKey(
        GrantApplication, on_delete=models.PROTECT, related_name="emails", null=True, blank=True
    )
    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, null=True, blank=True, related_name="emails")
    to = models.CharField(_("an"), max_length=500)
    subject = models.CharField(_("Betreff"), max_length=300)
    body = models.TextField(_("Text"))
    created_at = models.DateTimeField(_("angelegt am"), auto_now_add=True)
    sent_at = models.DateTimeField(_("gesendet am"), null=True, blank=True)

    class Meta:
        verbose_name = _("E-Mail")
        verbose_name_plural = _("E-Mails")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to}"


class LetterBatch(models.Model):
    """Letters rendered for many cases at once in the background, with progress."""

    class Status(models.TextChoices):
        PENDING = "pending", _("wartet")
        RUNNING = "running", _("läuft")
        DONE = "done", _("fertig")

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("angelegt am"), auto_now_add=True)
    applications = models.ManyToManyField(GrantApplication, related_name="+")
    status = models.CharField(_("Status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(_("Anzahl"), default=0)
    done = models.PositiveIntegerField(_("erledigt"), default=0)
    created_letters = models.PositiveIntegerField(_("neue Schreiben"), default=0)
    failures = models.JSONField(_("Fehler"), default=list, blank=True)

    class Meta:
        verbose_name = _("Stapel Schreiben")
        verbose_name_plural = _("Stapel Schreiben")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return _("Stapel %(id)s: %(done)s von %(total)s") % {"id": self.pk, "done": self.done, "total": self.total}

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.done / self.total)


class InternalNote(models.Model):
    """Interner Vermerk: a note staff keep on a case; never shown to the applicant."""

    application = models.ForeignKey(
        GrantApplication, verbose_name=_("Antrag"), on_delete=models.CASCADE, related_name="internal_notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("verfasst von"), on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField(_("Vermerk"))
    created_at = models.DateTimeField(_("angelegt am"), auto_now_add=True)

    class Meta:
        verbose_name = _("interner Vermerk")
        verbose_name_plural = _("interne Vermerke")
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="internal_note_not_empty")]

    def __str__(self) -> str:
        return f"{self.application}: {self.text[:40]}"


class OwnerRequest(models.Model):
    """What the owner asks for after approval (an extension, a change, the proof of use) and its decision.

    grants.services._decide records the decision: who, when, the outcome (each subclass names its own) and why.
    """

    outcome = models.CharField(_("Entscheidung"), max_length=10, default="open")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entschieden von"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("entschieden am"), null=True, blank=True)
    decision_comment = models.TextField(_("Begründung der Entscheidung"), blank=True)

    class Meta:
        abstract = True


class DeadlineExtension(OwnerRequest):
    """Fristverlängerung: the owner's request to move the completion and invoice deadlines, and its decision.

    The rows are the case's record of its deadlines: each decided one keeps the deadlines before and after.
    """

    class Outcome(models.TextChoices):
        OPEN = "open", _("beantragt")
        GRANTED = "granted", _("bewilligt")
        REFUSED = "refused", _("abgelehnt")
        WITHDRAWN = "withdrawn", _("mit dem Antrag zurückgezogen")

    application = models.ForeignKey(
        GrantApplication, verbose_name=_("Antrag"), on_delete=models.CASCADE, related_name="extensions"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("beantragt von"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("beantragt am"), auto_now_add=True)
    reason = models.TextField(_("Begründung"))
    completion_deadline_before = models.DateField(_("bisherige Durchführungsfrist"))
    invoice_deadline_before = models.DateField(_("bisherige Frist Schlussrechnung"))
    completion_deadline = models.DateField(_("neue Durchführungsfrist"))
    invoice_deadline = models.DateField(_("neue Frist Schlussrechnung"))
    outcome = models.CharField(_("Entscheidung"), max_length=10, choices=Outcome.choices, default=Outcome.OPEN)

    class Meta:
        verbose_name = _("Fristverlängerung")
        verbose_name_plural = _("Fristverlängerungen")
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"], condition=Q(outcome="open"), name="one_open_extension_per_application"
            ),
            models.CheckConstraint(
                condition=Q(invoice_deadline__gte=F("completion_deadline")), name="extension_invoices_after_works"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="extension_reason_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.application}: {self.completion_deadline} / {self.invoice_deadline}"


class ChangeRequest(OwnerRequest):
    """Änderungsantrag: the owner's request to change an approved case's measures and costs, and its decision.

    ``measures_before`` and ``measures`` are the case's measures with their quoted costs before and after the
    change (``grants.services.measures_snapshot``); with the first row's ``measures_before`` (the approval),
    the approved rows are every version of the case's measures and costs.
    """

    class Outcome(models.TextChoices):
        OPEN = "open", _("beantragt")
        APPROVED = "approved", _("bewilligt")
        REFUSED = "refused", _("abgelehnt")
        WITHDRAWN = "withdrawn", _("mit dem Antrag zurückgezogen")

    application = models.ForeignKey(
        GrantApplication, verbose_name=_("Antrag"), on_delete=models.CASCADE, related_name="changes"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("beantragt von"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("beantragt am"), auto_now_add=True)
    reason = models.TextField(_("Begründung"))
    measures_before = models.JSONField(_("bisherige Maßnahmen und Kosten"))
    measures = models.JSONField(_("beantragte Maßnahmen und Kosten"))
    grant_before = models.DecimalField(_("bisher bewilligter Zuschuss"), max_digits=12, decimal_places=2)
    grant = models.DecimalField(_("Zuschuss nach der Änderung"), max_digits=12, decimal_places=2)
    computation = models.JSONField(_("Berechnung nach der Änderung"), default=dict)
    completion_deadline_before = models.DateField(_("bisherige Durchführungsfrist"))
    invoice_deadline_before = models.DateField(_("bisherige Frist Schlussrechnung"))
    completion_deadline = models.DateField(_("neue Durchführungsfrist"))
    invoice_deadline = models.DateField(_("neue Frist Schlussrechnung"))
    outcome = models.CharField(_("Entscheidung"), max_length=10, choices=Outcome.choices, default=Outcome.OPEN)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("geprüft von"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    checked_at = models.DateTimeField(_("geprüft am"), null=True, blank=True)

    class Meta:
        verbose_name = _("Änderungsantrag")
        verbose_name_plural = _("Änderungsanträge")
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"], condition=Q(outcome="open"), name="one_open_change_per_application"
            ),
            models.CheckConstraint(
                condition=Q(invoice_deadline__gte=F("completion_deadline")), name="change_invoices_after_works"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="change_reason_not_empty"),
            models.CheckConstraint(condition=Q(grant__gte=0), name="change_grant_not_negative"),
        ]

    def __str__(self) -> str:
        return _("Änderungsantrag zu %(case)s vom %(date)s") % {
            "case": self.application,
            "date": self.requested_at.date() if self.requested_at else "",
        }

    def rows(self) -> list[dict]:
        """Each measure before and after the change (area, net and gross costs; None where there is none), by kind."""

        def figures(measures: list[dict]) -> dict[str, dict]:
            return {
                m["kind"]: {
                    "area": Decimal(m["area_m2"]),
                    "net": sum((Decimal(c["net_amount"]) for c in m["costs"]), Decimal("0.00")),
                    "gross": sum(
                        (Decimal(c["net_amount"]) + Decimal(c["vat_amount"]) for c in m["costs"]), Decimal("0.00")
                    ),
                }
                for m in measures
            }

        before, after = figures(self.measures_before), figures(self.measures)
        empty = dict.fromkeys(("area", "net", "gross"))
        return [
            {
                "label": MeasureKind(kind).label,
                **{f"{name}_before": value for name, value in before.get(kind, empty).items()},
                **after.get(kind, empty),
                "changed": before.get(kind) != after.get(kind),
            }
            for kind in [k for k in MeasureKind.values if k in before or k in after]
        ]

    @property
    def deadlines_change(self) -> bool:
        return (self.completion_deadline, self.invoice_deadline) != (
            self.completion_deadline_before,
            self.invoice_deadline_before,
        )


class PartialPayment(models.Model):
    """Abschlagszahlung: paid before the final proof, against certified invoices, up to the programme's share."""

    application = models.ForeignKey(
        GrantApplication, verbose_name=_("Antrag"), on_delete=models.PROTECT, related_name="partial_payments"
    )
    number = models.PositiveSmallIntegerField(_("Nr."))
    amount = MoneyField(_("Betrag"))
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("freigegeben von"), on_delete=models.PROTECT, related_name="+"
    )
    paid_at = models.DateTimeField(_("freigegeben am"), auto_now_add=True)

    class Meta:
        verbose_name = _("Abschlagszahlung")
        verbose_name_plural = _("Abschlagszahlungen")
        ordering = ["application", "number"]
        constraints = [
            models.UniqueConstraint(fields=["application", "number"], name="partial_payment_number_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="partial_payment_positive"),
        ]

    def __str__(self) -> str:
        return _("%(number)s. Abschlag zu %(case)s") % {"number": self.number, "case": self.application}


class Invoice(models.Model):
    """One invoice the owner hands in, with its document, and the caseworker's certification of it.

    The eligible amount is net (förderfähig netto); the eligible VAT follows pro rata, and whether VAT counts
    at all is the guideline's question (input-VAT deduction), as for the quotes.
    """

    application = models.ForeignKey(
        GrantApplication, verbose_name=_("Antrag"), on_delete=models.PROTECT, related_name="invoices"
    )
    document = models.OneToOneField(
        Document, verbose_name=_("Rechnung (Datei)"), on_delete=models.PROTECT, related_name="invoice_record"
    )
    number = models.CharField(_("Rechnungsnummer"), max_length=100)
    issued_on = models.DateField(_("Rechnungsdatum"))
    supplier = models.CharField(_("Rechnungssteller/in"), max_length=200)
    measure = models.CharField(_("Maßnahme"), max_length=30, choices=MeasureKind.choices)
    description = models.CharField(_("Leistung"), max_length=500, help_text=_("was die Rechnung abrechnet"))
    ancillary = models.BooleanField(
        _("Planung und Bauleitung"), default=False, help_text=_("Planungskosten, nur anteilig förderfähig")
    )
    net_amount = MoneyField(_("netto"))
    vat_amount = MoneyField(_("Umsatzsteuer"), default=Decimal("0.00"))
    gross_amount = MoneyField(_("brutto"))
    paid_on = models.DateField(_("bezahlt am"), null=True, blank=True)
    payment_proof = models.ForeignKey(
        Document,
        verbose_name=_("Zahlungsnachweis"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("erfasst von"), on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(_("erfasst am"), auto_now_add=True)
    eligible_amount = MoneyField(_("förderfähig netto"), null=True, blank=True)
    cut_reason = models.TextField(_("Grund der Kürzung"), blank=True)
    certified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sachlich richtig von"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    certified_at = models.DateTimeField(_("sachlich richtig am"), null=True, blank=True)
    partial_payment = models.ForeignKey(
        PartialPayment,
        verbose_name=_("Abschlagszahlung"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices",
    )

    class Meta:
        verbose_name = _("Rechnung")
        verbose_name_plural = _("Rechnungen")
        ordering = ["issued_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "supplier", "number"], name="invoice_number_unique_per_supplier"
            ),
            models.CheckConstraint(
                condition=Q(gross_amount=F("net_amount") + F("vat_amount")), name="invoice_gross_is_net_plus_vat"
            ),
            models.CheckConstraint(
                condition=Q(eligible_amount__isnull=True) | Q(eligible_amount__lte=F("net_amount")),
                name="invoice_eligible_within_net",
            ),
            models.CheckConstraint(
                condition=Q(certified_at__isnull=True) | Q(eligible_amount__isnull=False),
                name="invoice_certified_with_amount",
            ),
        ]

    def __str__(self) -> str:
        return _("Rechnung %(number)s von %(supplier)s") % {"number": self.number, "supplier": self.supplier}

    @property
    def eligible_vat(self) -> Decimal | None:
        """The VAT on the eligible part, pro rata to the net amount, to the cent."""
        if self.eligible_amount is None:
            return None
        if not self.net_amount:
            return Decimal("0.00")
        return (self.vat_amount * self.eligible_amount / self.net_amount).quantize(Decimal("0.01"))

    @property
    def cut(self) -> Decimal | None:
        return None if self.eligible_amount is None else self.net_amount - self.eligible_amount


class ProofOfUse(OwnerRequest):
    """Verwendungsnachweis der Antragsteller/in: the owner's proof that the grant was used, and its check.

    A factual report (Sachbericht) on the works, the day they were finished, and the invoices and after-photos of
    the case at submission (the invoice list). Not the municipality's yearly statement to the state, which
    reports/ also calls Verwendungsnachweis (budgets.models.Statement).
    """

    class Outcome(models.TextChoices):
        OPEN = "open", _("eingereicht")
        ACCEPTED = "accepted", _("anerkannt")
        RETURNED = "returned", _("zur Ergänzung zurückgegeben")
        WITHDRAWN = "withdrawn", _("mit dem Antrag zurückgezogen")

    application = models.ForeignKey(
        GrantApplication, verbose_name=_("Antrag"), on_delete=models.CASCADE, related_name="proofs"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("eingereicht von"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("eingereicht am"), auto_now_add=True)
    completed_on = models.DateField(_("Maßnahme abgeschlossen am"))
    report = models.TextField(_("Sachbericht"), max_length=DESCRIPTION_MAX_LENGTH)
    documents = models.ManyToManyField(
        Document, verbose_name=_("Rechnungen und Fotos"), related_name="proofs", blank=True
    )
    outcome = models.CharField(_("Ergebnis der Prüfung"), max_length=10, choices=Outcome.choices, default=Outcome.OPEN)

    class Meta:
        verbose_name = _("Verwendungsnachweis der Antragsteller/in")
        verbose_name_plural = _("Verwendungsnachweise der Antragsteller/innen")
        ordering = ["submitted_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"], condition=Q(outcome="open"), name="one_open_proof_per_application"
            ),
            models.CheckConstraint(condition=~Q(report=""), name="proof_report_not_empty"),
        ]

    def __str__(self) -> str:
        return _("Verwendungsnachweis zu %(case)s vom %(date)s") % {
            "case": self.application,
            "date": self.submitted_at.date() if self.submitted_at else "",
        }

    def invoices(self) -> list[Document]:
        return [d for d in self.documents.all() if d.kind == Document.Kind.INVOICE]

    def photos(self) -> list[Document]:
        return [d for d in self.documents.all() if d.kind == Document.Kind.PHOTO_AFTER]


class Revocation(models.Model):
    """Widerrufsverfahren: a revocation case on a granting notice, from its hearing to the repayment it asks.

    Staff open it for a reason, with the facts and a hearing deadline (Anhörung, § 28 VwVfG); the owner answers in
    the portal; a second person decides: the grant revoked (§ 49 (3) VwVfG) or withdrawn (§ 48 VwVfG) in full or in
    part, effective from a day, or only interest for late use (§ 49a (4) VwVfG), or the case closed without. What
    was paid beyond the grant left is to be repaid (§ 49a (1)) with interest (§ 49a (3)); ``Repayment`` rows book it.
    """

    class Reason(models.TextChoices):
        PURPOSE = "purpose", _("Zuwendungszweck nicht erreicht")
        CONDITIONS = "conditions", _("Auflagen nicht oder nicht fristgerecht erfüllt")
        NOT_FINISHED = "not_finished", _("Maßnahme nicht oder nicht fristgerecht abgeschlossen")
        SALE = "sale", _("Veräußerung oder Nutzungsänderung in der Zweckbindungsfrist")
        FALSE_STATEMENTS = "false_statements", _("unrichtige oder unvollständige Angaben")
        LATE_USE = "late_use", _("Zuwendung nicht alsbald verwendet")

    class Outcome(models.TextChoices):
        OPEN = "open", _("Anhörung")
        REVOKED = "revoked", _("Widerruf (§ 49 Abs. 3 VwVfG)")
        WITHDRAWN = "withdrawn", _("Rücknahme (§ 48 VwVfG)")
        INTEREST = "interest", _("nur Zinsen für verspätete Verwendung (§ 49a Abs. 4 VwVfG)")
        CLOSED = "closed", _("eingestellt ohne Widerruf")
        ENDED = "ended", _("mit dem Antrag zurückgezogen")

    application = models.ForeignKey(
        GrantApplication, verbose_name=_("Antrag"), on_delete=models.PROTECT, related_name="revocations"
    )
    reason = models.CharField(_("Grund"), max_length=20, choices=Reason.choices)
    facts = models.TextField(_("Sachverhalt"), max_length=DESCRIPTION_MAX_LENGTH)
    intended_amount = MoneyField(_("beabsichtigter Widerruf über"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("eröffnet von"), on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(_("eröffnet am"), auto_now_add=True)
    hearing_deadline = models.DateField(_("Frist zur Äußerung"))
    answer = models.TextField(_("Äußerung der Antragsteller/in"), max_length=DESCRIPTION_MAX_LENGTH, blank=True)
    answered_at = models.DateTimeField(_("geäußert am"), null=True, blank=True)

    outcome = models.CharField(_("Entscheidung"), max_length=10, choices=Outcome.choices, default=Outcome.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entschieden von"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("entschieden am"), null=True, blank=True)
    decision_comment = models.TextField(_("Begründung der Entscheidung"), blank=True)
    grant_before = MoneyField(_("Zuschuss vor der Entscheidung"), null=True, blank=True)
    revoked_amount = MoneyField(_("aufgehoben"), null=True, blank=True)
    effective_from = models.DateField(_("unwirksam ab"), null=True, blank=True)
    paid_before = MoneyField(_("ausgezahlt vor der Entscheidung"), null=True, blank=True)
    principal = MoneyField(_("zu erstatten"), default=Decimal("0.00"))
    due_on = models.DateField(_("fällig am"), null=True, blank=True)
    interest_waived = models.BooleanField(_("von Zinsen abgesehen (§ 49a Abs. 3 Satz 2 VwVfG)"), default=False)
    # § 49a (4) VwVfG: interest on money paid and not used for its purpose soon after (within two months).
    late_use_amount = MoneyField(_("verspätet verwendeter Betrag"), null=True, blank=True)
    late_use_from = models.DateField(_("ausgezahlt am"), null=True, blank=True)
    late_use_until = models.DateField(_("verwendet am"), null=True, blank=True)
    late_use_interest = MoneyField(_("Zinsen für verspätete Verwendung"), default=Decimal("0.00"))
    reminders = models.PositiveSmallIntegerField(_("Zahlungserinnerungen"), default=0)
    last_reminded_on = models.DateField(_("zuletzt erinnert am"), null=True, blank=True)
    settled_at = models.DateTimeField(_("erledigt am"), null=True, blank=True)

    class Meta:
        verbose_name = _("Widerrufsverfahren")
        verbose_name_plural = _("Widerrufsverfahren")
        ordering = ["opened_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"], condition=Q(settled_at__isnull=True), name="one_open_revocation_per_case"
            ),
            models.CheckConstraint(condition=~Q(facts=""), name="revocation_facts_not_empty"),
            models.CheckConstraint(condition=Q(intended_amount__gte=0), name="revocation_intended_not_negative"),
            models.CheckConstraint(condition=Q(principal__gte=0), name="revocation_principal_not_negative"),
            models.CheckConstraint(
                condition=Q(outcome="open") | Q(decided_at__isnull=False), name="revocation_decided_with_date"
            ),
            models.CheckConstraint(
                condition=Q(revoked_amount__isnull=True)
                | Q(grant_before__isnull=True)
                | Q(revoked_amount__lte=F("grant_before")),
                name="revocation_within_grant",
            ),
        ]

    def __str__(self) -> str:
        return _("Widerrufsverfahren zu %(case)s vom %(date)s") % {
            "case": self.application,
            "date": f"{self.opened_at:%d.%m.%Y}" if self.opened_at else "",
        }

    def hearing_over(self, today: date) -> bool:
        """§ 28 VwVfG: decided only once the owner has answered or the deadline has passed."""
        return self.answered_at is not None or today > self.hearing_deadline

    @property
    def remaining_grant(self) -> Decimal | None:
        if self.grant_before is None or self.revoked_amount is None:
            return None
        return self.grant_before - self.revoked_amount

    @property
    def full(self) -> bool:
        return self.remaining_grant == 0


class Repayment(models.Model):
    """A repayment received on a reclaim, and how it was credited: to the interest and to the principal."""

    revocation = models.ForeignKey(
        Revocation, verbose_name=_("Widerrufsverfahren"), on_delete=models.PROTECT, related_name="repayments"
    )
    application = models.ForeignKey(
        GrantApplication, verbose_name=_("Antrag"), on_delete=models.PROTECT, related_name="repayments"
    )
    received_on = models.DateField(_("eingegangen am"))
    amount = MoneyField(_("Betrag"))
    principal_part = MoneyField(_("auf die Hauptforderung"))
    interest_part = MoneyField(_("auf die Zinsen"))
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("gebucht von"), on_delete=models.PROTECT, related_name="+"
    )
    booked_at = models.DateTimeField(_("gebucht am"), auto_now_add=True)

    class Meta:
        verbose_name = _("Rückzahlung")
        verbose_name_plural = _("Rückzahlungen")
        ordering = ["received_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="repayment_positive"),
            models.CheckConstraint(
                condition=Q(principal_part__gte=0, interest_part__gte=0), name="repayment_parts_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(amount=F("principal_part") + F("interest_part")), name="repayment_parts_sum"
            ),
        ]

    def __str__(self) -> str:
        return _("Rückzahlung vom %(date)s zu %(case)s") % {
            "date": f"{self.received_on:%d.%m.%Y}" if self.received_on else "",
            "case": self.application,
        }


class Inspection(models.Model):
    """Vor-Ort-Kontrolle in the commitment period: the day, the finding, notes and photos (grants.commitment)."""

    class Finding(models.TextChoices):
        OK = "ok", _("ohne Beanstandung")
        DEFECT = "defect", _("geförderter Zustand nicht erhalten")
        USE = "use", _("zweckfremde Nutzung")
        SALE = "sale", _("Veräußerung festgestellt")

    application = models.ForeignKey(
        GrantApplication, verbose_name=_("Antrag"), on_delete=models.PROTECT, related_name="inspections"
    )
    inspected_on = models.DateField(_("kontrolliert am"))
    finding = models.CharField(_("Befund"), max_length=10, choices=Finding.choices)
    notes = models.TextField(_("Feststellungen"), max_length=DESCRIPTION_MAX_LENGTH, blank=True)
    photos = models.ManyToManyField(Document, verbose_name=_("Fotos"), blank=True, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("erfasst von"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("erfasst am"), auto_now_add=True)
    # The revocation case the finding started, if it started one.
    revocation = models.ForeignKey(
        Revocation, verbose_name=_("Widerrufsverfahren"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="inspections",
    )  # fmt: skip

    class Meta:
        verbose_name = _("Vor-Ort-Kontrolle")
        verbose_name_plural = _("Vor-Ort-Kontrollen")
        ordering = ["inspected_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(finding="ok") | ~Q(notes=""), name="inspection_finding_explained"),
        ]

    def __str__(self) -> str:
        return _("Vor-Ort-Kontrolle vom %(date)s zu %(case)s") % {
            "date": f"{self.inspected_on:%d.%m.%Y}" if self.inspected_on else "",
            "case": self.application,
        }


class SaleReport(models.Model):
    """The owner's report of a sale or change of use in the commitment period; staff take it up in a revocation."""

    application = models.ForeignKey(
        GrantApplication, verbose_name=_("Antrag"), on_delete=models.PROTECT, related_name="sale_reports"
    )
    sold_on = models.DateField(_("veräußert oder umgenutzt am"))
    buyer = models.CharField(_("Erwerber/in oder neue Nutzung"), max_length=200)
    buyer_continues = models.BooleanField(_("Die Erwerber/in übernimmt die Zweckbindung"), default=False)
    notes = models.TextField(_("Erläuterung"), max_length=DESCRIPTION_MAX_LENGTH, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("gemeldet von"), on_delete=models.PROTECT, related_name="+"
    )
    reported_at = models.DateTimeField(_("gemeldet am"), auto_now_add=True)
    revocation = models.ForeignKey(
        Revocation, verbose_name=_("Widerrufsverfahren"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="sale_reports",
    )  # fmt: skip

    class Meta:
        verbose_name = _("Veräußerungsmeldung")
        verbose_name_plural = _("Veräußerungsmeldungen")
        ordering = ["reported_at", "id"]

    def __str__(self) -> str:
        return _("Meldung vom %(date)s zu %(case)s") % {
            "date": f"{timezone.localdate(self.reported_at):%d.%m.%Y}" if self.reported_at else "",
            "case": self.application,
        }


class DeminimisDeclaration(models.Model):
    """De-minimis-Erklärung: the owner's declaration of the de-minimis aid the single undertaking received in the
    last three years, on an application of a de-minimis programme; signed by submitting, then never changed.

    A case returned to the owner keeps its signed declaration; a change is a new declaration, signed with the next
    submission. The latest signed one is the one the ceiling check counts.
    """

    application = models.ForeignKey(
        GrantApplication, verbose_name=_("Antrag"), on_delete=models.PROTECT, related_name="deminimis_declarations"
    )
    none_received = models.BooleanField(_("keine De-minimis-Beihilfen erhalten"), default=False)
    created_at = models.DateTimeField(_("angelegt am"), auto_now_add=True)
    signed_at = models.DateTimeField(_("mit der Einreichung abgegeben am"), null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("abgegeben von"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("De-minimis-Erklärung")
        verbose_name_plural = _("De-minimis-Erklärungen")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"], condition=Q(signed_at__isnull=True), name="one_unsigned_deminimis_declaration"
            ),
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True) | Q(signed_by__isnull=False), name="deminimis_declaration_signer"
            ),
        ]

    def __str__(self) -> str:
        return _("De-minimis-Erklärung zu %(case)s") % {"case": self.application}

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and DeminimisDeclaration.objects.filter(pk=self.pk, signed_at__isnull=False).exists():
            raise ValidationError(_("Eine abgegebene De-minimis-Erklärung wird nie geändert."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.signed_at is not None:
            raise ValidationError(_("Eine abgegebene De-minimis-Erklärung wird nie gelöscht."))
        return super().delete(*args, **kwargs)


class DeclaredAid(models.Model):
    """One de-minimis aid the owner declared: day of granting, granting body, amount (gross grant equivalent)."""

    declaration = models.ForeignKey(
        DeminimisDeclaration, verbose_name=_("Erklärung"), on_delete=models.CASCADE, related_name="aids"
    )
    granted_on = models.DateField(_("Tag der Gewährung"))
    granting_body = models.CharField(_("Beihilfegeber"), max_length=200)
    amount = MoneyField(_("Betrag (Bruttosubventionsäquivalent)"), validators=positive_money_validators)
    regulation = models.CharField(
        _("nach Verordnung"), max_length=20, choices=DeminimisRegulation.choices, default=DeminimisRegulation.GENERAL
    )

    class Meta:
        verbose_name = _("erklärte De-minimis-Beihilfe")
        verbose_name_plural = _("erklärte De-minimis-Beihilfen")
        ordering = ["granted_on", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="declared_aid_positive")]

    def __str__(self) -> str:
        return f"{self.granted_on:%d.%m.%Y} {self.granting_body} {self.amount} €"

    def save(self, *args, **kwargs) -> None:
        if DeminimisDeclaration.objects.filter(pk=self.declaration_id, signed_at__isnull=False).exists():
            raise ValidationError(_("Eine abgegebene De-minimis-Erklärung wird nie geändert."))
        super().save(*args, **kwargs)
