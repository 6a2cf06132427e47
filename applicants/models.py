from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from localflavor.generic.models import IBANField
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from core.banking import iban_of_a_known_bank, masked_iban
from core.history import History


class Role(models.TextChoices):
    """The roles of Förderdesk; each is a Django group of the same name."""

    APPLICANT = "applicant", _("Antragsteller/in")
    CASEWORKER = "caseworker", _("Sachbearbeitung")
    APPROVER = "approver", _("Bewilligung")
    FINANCE = "finance", _("Kasse/Finanzen")
    AUDITOR = "auditor", _("Prüfung (nur lesen)")


STAFF_ROLES = frozenset({Role.CASEWORKER, Role.APPROVER, Role.FINANCE, Role.AUDITOR})


class User(AbstractUser):
    """A person who logs in: an owner, or staff of one or more municipalities."""

    # Roles are groups: their changes are history too. The password hash and the login time are not.
    history = History(m2m_fields=["groups"], excluded_fields=["password", "last_login"])

    class Meta:
        verbose_name = _("Benutzer/in")
        verbose_name_plural = _("Benutzer/innen")

    def save(self, *args, **kwargs):
        # Every login writes last_login; that is no change of the account worth a history row.
        if set(kwargs.get("update_fields") or ()) == {"last_login"}:
            self.skip_history_when_saving = True
            try:
                return super().save(*args, **kwargs)
            finally:
                del self.skip_history_when_saving
        return super().save(*args, **kwargs)

    @cached_property
    def roles(self) -> frozenset[str]:
        return frozenset(self.groups.values_list("name", flat=True))

    @property
    def sees_payment_runs(self) -> bool:
        """Finance and auditors (payments.services.may_read_runs), for the workspace's navigation."""
        return self.has_role(Role.FINANCE) or self.has_role(Role.AUDITOR)

    def has_role(self, role: str) -> bool:
        return self.is_active and role in self.roles

    @property
    def is_municipal_staff(self) -> bool:
        return self.is_active and bool(self.roles & STAFF_ROLES)

    @cached_property
    def municipality_ids(self) -> frozenset[int]:
        return frozenset(self.municipalities.values_list("id", flat=True))


postcode_validator = RegexValidator(r"^\d{5}$", _("Bitte eine fünfstellige Postleitzahl angeben."))


class Address(models.Model):
    street = models.CharField(_("Straße"), max_length=200)
    house_number = models.CharField(_("Hausnummer"), max_length=20)
    postcode = models.CharField(_("PLZ"), max_length=5, validators=[postcode_validator])
    city = models.CharField(_("Ort"), max_length=100)

    class Meta:
        abstract = True

    @property
    def address(self) -> str:
        return f"{self.street} {self.house_number}, {self.postcode} {self.city}"


# NACE Rev. 2 (Regulation (EC) No 1893/2006; WZ 2008 in Germany): division, group or class, e.g. "47", "47.1", "47.11".
nace_validator = RegexValidator(
    r"^\d{2}(\.\d{1,2})?$", _("Bitte einen NACE-Code wie 47.11 angeben (Abteilung, Gruppe oder Klasse).")
)


class SingleUndertaking(models.Model):
    """Unternehmensverbund: the single undertaking of Art. 2(2) Reg. (EU) 2023/2831, linked enterprises sharing
    one de-minimis ceiling. Staff assign applicants to it; an applicant without one is its own single undertaking.
    """

    name = models.CharField(_("Bezeichnung"), max_length=200)
    notes = models.TextField(
        _("Verbindung der Unternehmen"), blank=True, help_text=_("z. B. Mehrheit der Stimmrechte, Beherrschungsvertrag")
    )
    created_at = models.DateTimeField(_("angelegt am"), auto_now_add=True)

    class Meta:
        verbose_name = _("Unternehmensverbund (ein einziges Unternehmen)")
        verbose_name_plural = _("Unternehmensverbünde")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Applicant(Address):
    """Antragsteller/in: a person or organisation applying for a grant."""

    class Kind(models.TextChoices):
        PERSON = "person", _("Natürliche Person")
        ORGANISATION = "organisation", _("Organisation / Unternehmen")

    class Standing(models.TextChoices):
        OWNER = "owner", _("Eigentümer/in")
        HEREDITARY_LEASE = "hereditary_lease", _("Erbbauberechtigte/r")
        OWNERS_ASSOCIATION = "owners_association", _("Wohnungseigentümergemeinschaft (WEG)")
        REPRESENTATIVE = "representative", _("Bevollmächtigte/r")
        TENANT = "tenant", _("Mieter/in mit Zustimmung der Eigentümerseite")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("Benutzerkonto"),
        on_delete=models.PROTECT,
        related_name="applicant_profiles",
        null=True,
        blank=True,
    )
    kind = models.CharField(_("Art"), max_length=20, choices=Kind.choices, default=Kind.PERSON)
    standing = models.CharField(_("Berechtigung"), max_length=30, choices=Standing.choices, default=Standing.OWNER)
    name = models.CharField(_("Name"), max_length=200)
    organisation = models.CharField(_("Organisation"), max_length=200, blank=True)
    email = models.EmailField(_("E-Mail"), blank=True)
    phone = models.CharField(_("Telefon"), max_length=50, blank=True)
    iban = IBANField(_("IBAN"), blank=True, validators=[iban_of_a_known_bank])
    may_deduct_input_vat = models.BooleanField(
        _("vorsteuerabzugsberechtigt"),
        default=False,
        help_text=_("Wer die Vorsteuer abziehen darf, erhält die Förderung auf die Nettokosten."),
    )
    # What the de-minimis register needs of an undertaking (grants.deminimis).
    tax_number = models.CharField(
        _("Steuernummer oder USt-IdNr."), db_default="", max_length=30, blank=True, help_text=_("z. B. DE123456789")
    )
    register_number = models.CharField(
        _("Registernummer"), db_default="", max_length=30, blank=True, help_text=_("z. B. HRB 1234")
    )
    register_court = models.CharField(
        _("Registergericht"), db_default="", max_length=100, blank=True, help_text=_("z. B. Amtsgericht Köln")
    )
    nace_code = models.CharField(
        _("Wirtschaftszweig (NACE)"),
        db_default="",
        max_length=5,
        blank=True,
        validators=[nace_validator],
        help_text=_("z. B. 47.11"),
    )
    single_undertaking = models.ForeignKey(
        SingleUndertaking,
        verbose_name=_("Unternehmensverbund"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        help_text=_("Verbundene Unternehmen teilen sich den De-minimis-Höchstbetrag."),
    )
    anonymised_at = models.DateTimeField(_("anonymisiert am"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("Antragsteller/in")
        verbose_name_plural = _("Antragstellende")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="organisation") | ~models.Q(organisation=""),
                name="applicant_organisation_named",
                violation_error_message=_("Eine Organisation braucht einen Namen."),
            )
        ]

    def __str__(self) -> str:
        return self.organisation or self.name

    @property
    def identifier(self) -> str:
        """The undertaking's identifiers as the de-minimis register takes them: tax or VAT id, register number."""
        register = " ".join(part for part in (self.register_number, self.register_court) if part)
        return ", ".join(part for part in (self.tax_number, register) if part)

    @property
    def iban_masked(self) -> str:
        return masked_iban(self.iban)

    @cached_property
    def bank(self) -> dict:
        """The bank of the IBAN from schwifty's register: name and BIC, empty where unknown."""
        try:
            iban = IBAN(self.iban) if self.iban else None
        except SchwiftyException:
            iban = None
        if iban is None or iban.bank is None:
            return {}
        return {"name": iban.bank_name or "", "bic": str(iban.bic) if iban.bic else ""}


class Property(Address):
    """Grundstück / Gebäude: the property a measure is carried out on."""

    registered_by = models.ForeignKey(
        Applicant,
        verbose_name=_("erfasst von"),
        on_delete=models.PROTECT,
        related_name="properties",
        null=True,
        blank=True,
    )
    cadastral_district = models.CharField(_("Gemarkung"), max_length=100, blank=True)
    cadastral_sheet = models.CharField(_("Flur"), max_length=20, blank=True)
    parcel = models.CharField(_("Flurstück"), max_length=50, blank=True)
    building = models.CharField(_("Gebäude"), max_length=200, blank=True, help_text=_("z. B. Vorderhaus"))

    class Meta:
        verbose_name = _("Grundstück")
        verbose_name_plural = _("Grundstücke")

    def __str__(self) -> str:
        return self.address


class Consultation(models.Model):
    """Erstberatung: the advice meeting many programmes require before an application."""

    municipality = models.ForeignKey(
        "core.Municipality", verbose_name=_("Kommune"), on_delete=models.PROTECT, related_name="consultations"
    )
    applicant = models.ForeignKey(
        Applicant, verbose_name=_("Antragsteller/in"), on_delete=models.PROTECT, related_name="consultations"
    )
    property = models.ForeignKey(
        Property, verbose_name=_("Grundstück"), on_delete=models.PROTECT, related_name="consultations"
    )
    held_on = models.DateField(_("Datum"))
    adviser = models.CharField(_("Beratung durch"), max_length=200)
    topics = models.TextField(_("Themen"), blank=True)
    outcome = models.TextField(_("Ergebnis"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("erfasst von"), on_delete=models.PROTECT, null=True, blank=True
    )

    class Meta:
        verbose_name = _("Erstberatung")
        verbose_name_plural = _("Erstberatungen")
        ordering = ["-held_on"]

    def __str__(self) -> str:
        return f"{self.held_on:%d.%m.%Y} – {self.applicant} – {self.property}"
