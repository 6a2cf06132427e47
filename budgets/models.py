from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

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
from core.money import MAX_AMOUNT, MoneyField, format_amount, positive_money_validators

from .shares import SHARES, as_parts, format_share, parse_share, split, to_cents, to_euros

# The limit of a statement's Sachbericht, for the API and the workspace alike.
NARRATIVE_MAX_LENGTH = 20000
SHARE_LABELS = {
    "federal": _("Bund"),
    "state": _("Land"),
    "municipal": _("Kommune"),
    "private": _("Private"),
}


def PartsField(verbose_name):  # noqa: N802 - reads like a field class
    return models.PositiveBigIntegerField(verbose_name, default=0)


_SHARE_SUM = F("federal_parts") + F("state_parts") + F("municipal_parts") + F("private_parts")


def _share_property(share: str):
    """``federal_share`` etc.: the exact fraction; setting it (a Fraction, "1/3" or a per cent) re-bases the parts."""

    def get(self) -> Fraction:
        return Fraction(getattr(self, f"{share}_parts"), self.share_whole) if self.share_whole else Fraction(0)

    def set_(self, value) -> None:
        self.set_shares({**self.shares, share: parse_share(value)})

    return property(get, set_)


def _percent_property(share: str):
    """``federal_percent`` etc.: the share in per cent for reading (four decimals); setting takes a per cent."""

    def get(self) -> Decimal:
        fraction = getattr(self, f"{share}_share")
        return (Decimal(fraction.numerator) * 100 / Decimal(fraction.denominator)).quantize(PERCENT_PLACES)

    def set_(self, value) -> None:
        self.set_shares({**self.shares, share: parse_share(Decimal(value))})

    return property(get, set_)


PERCENT_PLACES = Decimal("0.0001")
# The whole the parts are counted in: 10^15 holds every per cent with twelve decimals and thirds beside it,
# and stays far within the database's 64-bit integers.
MAX_SHARE_WHOLE = 10**15


class FundingShares(models.Model):
    """Funding shares (Förderanteile) as exact fractions: each share is parts / whole (1/3 is 1 part of 3).

    Shared by the allocation and the state's funding notice, whose shares the allocations on it repeat.
    """

    federal_parts = PartsField(_("Anteil Bund (Teile)"))
    state_parts = PartsField(_("Anteil Land (Teile)"))
    municipal_parts = PartsField(_("Anteil Kommune (Teile)"))
    private_parts = PartsField(_("Anteil Private (Teile)"))
    share_whole = models.PositiveBigIntegerField(_("Teile insgesamt"), default=1)

    federal_share = _share_property("federal")
    state_share = _share_property("state")
    municipal_share = _share_property("municipal")
    private_share = _share_property("private")
    federal_percent = _percent_property("federal")
    state_percent = _percent_property("state")
    municipal_percent = _percent_property("municipal")
    private_percent = _percent_property("private")

    class Meta:
        abstract = True

    @property
    def shares(self) -> dict[str, Fraction]:
        """Each funding share as an exact fraction of one."""
        return {share: getattr(self, f"{share}_share") for share in SHARES}

    def set_shares(self, fractions: dict[str, Fraction]) -> None:
        parts, whole = as_parts({share: fractions.get(share, Fraction(0)) for share in SHARES})
        for share in SHARES:
            setattr(self, f"{share}_parts", parts[share])
        self.share_whole = whole

    @property
    def shares_display(self) -> str:
        return " · ".join(f"{SHARE_LABELS[s]} {format_share(f)}" for s, f in self.shares.items() if f)

    def _clean_fine_shares(self) -> None:
        if self.share_whole > MAX_SHARE_WHOLE:
            raise ValidationError(
                _("Die Förderanteile sind zu fein geteilt: bitte einfachere Brüche oder weniger Nachkommastellen.")
            )

    def _clean_shares_sum(self) -> None:
        total = sum(self.shares.values(), Fraction(0))
        if total != 1:
            raise ValidationError(
                _("Die Förderanteile müssen zusammen genau 1 (100 %%) ergeben, sie ergeben %(total)s.")
                % {"total": format_share(total)}
            )


class Allocation(FundingShares):
    """Bewilligungsrahmen: the money a programme may commit in one programme year, by funding share."""

    programme = models.ForeignKey(
        "grants.Programme", verbose_name=_("Förderprogramm"), on_delete=models.PROTECT, related_name="allocations"
    )
    year = models.PositiveSmallIntegerField(
        _("Programmjahr"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    amount = MoneyField(_("Mittelausstattung"), validators=positive_money_validators)
    # The state's funding notice the allocation draws on (its shares and period); none for the town's own money.
    state_notice = models.ForeignKey(
        "StateNotice",
        verbose_name=_("Zuwendungsbescheid des Landes"),
        on_delete=models.PROTECT,
        related_name="allocations",
        null=True,
        blank=True,
    )

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
            models.CheckConstraint(condition=Q(share_whole__gt=0), name="allocation_share_whole_positive"),
            models.CheckConstraint(
                # Whole numbers: exact on every database.
                condition=Q(share_whole=_SHARE_SUM),
                name="allocation_shares_sum_to_one",
                violation_error_message=_("Die Förderanteile müssen zusammen 100 %% ergeben."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.programme.name} {self.year}"

    def clean(self) -> None:
        self._clean_fine_shares()
        self._clean_booked()
        self._clean_shares_sum()
        if self.state_notice_id is not None:
            problems = state_notice_problems(self, self.state_notice)  # type: ignore[arg-type]
            if problems:
                raise ValidationError({"state_notice": problems})

    def _clean_booked(self) -> None:
        """Once booked against, the shares stay and the amount never falls below what any share has committed."""
        if self.pk is None:
            return
        before = Allocation.objects.filter(pk=self.pk).first()
        if before is None or not before.entries.exists():
            return
        if before.shares != self.shares:
            raise ValidationError(
                _("Die Förderanteile stehen fest, sobald gegen die Mittelausstattung gebucht ist."), code="booked"
            )
        sums = {
            kind: {share: total or 0 for share, total in row.items()}
            for kind in (LedgerEntry.Kind.COMMITMENT, LedgerEntry.Kind.RELEASE)
            for row in [
                LedgerTotal.objects.filter(allocation=self, kind=kind).aggregate(
                    **{share: models.Sum(f"{share}_amount") for share in SHARES}
                )
            ]
        }
        whole = split(to_cents(self.amount), self.shares)
        short = [
            SHARE_LABELS[share]
            for share in SHARES
            if to_euros(whole[share]) < sums[LedgerEntry.Kind.COMMITMENT][share] - sums[LedgerEntry.Kind.RELEASE][share]
        ]
        if short:
            raise ValidationError(
                _("Die Mittelausstattung darf nicht unter das Gebundene sinken (%(shares)s).")
                % {"shares": ", ".join(str(s) for s in short)},
                code="booked",
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
        # A case's commitment moved from one cash year to another (its plan, a payment, a carry-over): the pair
        # nets to nothing over the case, so commitments, releases and every share's total stay as they were.
        SHIFT_OUT = "shift_out", _("Umplanung (abgehend)")
        SHIFT_IN = "shift_in", _("Umplanung (zugehend)")

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
    # The budget year whose cash the booking binds, pays or gives back (Haushaltsjahr): the programme year, a
    # later year's commitment appropriation (Verpflichtungsermächtigung), or the year a payment is made in.
    cash_year = models.PositiveSmallIntegerField(
        _("Haushaltsjahr"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
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
        # The newest page of one allocation's ledger, by keyset: as fast at 100,000 entries as at 100.
        indexes = [models.Index(fields=["allocation", "-id"], name="ledger_allocation_newest")]
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

    def save(self, *args, **kwargs) -> None:
        if self.cash_year is None and self.allocation_id is not None:
            self.cash_year = self.allocation.year  # a booking without its own year binds the programme year's cash
        super().save(*args, **kwargs)


def TotalField(verbose_name):  # noqa: N802 - reads like a field class
    # A running sum of bookings: commitments released again may add up beyond one allocation's amount.
    return models.DecimalField(verbose_name, max_digits=16, decimal_places=2, default=Decimal("0.00"))


class LedgerTotal(models.Model):
    """The running sum of one allocation's bookings of one kind and cash year in one month of the programme year.

    Kept by the booking service under the allocation's row lock, in the booking's transaction, so that
    balances, the dashboard and the approval's check read a few rows, however long the ledger is.
    ``manage.py ledger_reconcile`` recomputes them from the entries. Bookings after the programme year
    count in December, earlier ones in January (as the burn-down shows them).
    """

    allocation = models.ForeignKey(Allocation, on_delete=models.CASCADE, related_name="totals")
    cash_year = models.PositiveSmallIntegerField(_("Haushaltsjahr"))
    month = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(12)])
    kind = models.CharField(max_length=20, choices=LedgerEntry.Kind.choices)
    entries = models.PositiveBigIntegerField(default=0)
    amount = TotalField(_("Betrag"))
    federal_amount = TotalField(_("Bund"))
    state_amount = TotalField(_("Land"))
    municipal_amount = TotalField(_("Kommune"))
    private_amount = TotalField(_("Private"))

    class Meta:
        verbose_name = _("Buchungssumme")
        verbose_name_plural = _("Buchungssummen")
        constraints = [
            models.UniqueConstraint(
                fields=["allocation", "cash_year", "month", "kind"], name="one_total_per_allocation_year_month_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.allocation_id} {self.cash_year} {self.month} {self.kind}"


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


class BaseRate(models.Model):
    """Basiszinssatz (§ 247 BGB): the Deutsche Bundesbank's rate, valid from each 1 January and 1 July.

    The shipped rows are the published rates (migration budgets.0008); a new one is added with
    ``manage.py add_base_rate``. Interest under § 49a (3) VwVfG is five percentage points above it (budgets.interest).
    """

    valid_from = models.DateField(_("gültig ab"), unique=True)
    rate_percent = models.DecimalField(
        _("Basiszinssatz in %"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("-10")), MaxValueValidator(Decimal("20"))],
    )

    class Meta:
        verbose_name = _("Basiszinssatz")
        verbose_name_plural = _("Basiszinssätze")
        ordering = ["valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_from__day=1) & Q(valid_from__month__in=[1, 7]),
                name="base_rate_from_january_or_july",
                violation_error_message=_("Der Basiszinssatz ändert sich nur zum 1. Januar und zum 1. Juli."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rate_percent} % ab {self.valid_from:%d.%m.%Y}"


def state_notice_problems(allocation: Allocation, notice: StateNotice) -> list[str]:
    """Why an allocation cannot draw on a state notice: town, approval period, shares and eligible total."""
    problems = []
    if allocation.programme_id is not None and notice.municipality_id != allocation.programme.municipality_id:
        problems.append(_("Der Zuwendungsbescheid des Landes gehört zu einer anderen Kommune als das Programm."))
    if allocation.year is not None and not notice.period_start.year <= allocation.year <= notice.period_end.year:
        problems.append(
            _("Das Programmjahr %(year)s liegt außerhalb des Bewilligungszeitraums des Bescheids (%(start)s–%(end)s).")
            % {
                "year": allocation.year,
                "start": f"{notice.period_start:%d.%m.%Y}",
                "end": f"{notice.period_end:%d.%m.%Y}",
            }
        )
    if allocation.shares != notice.shares:
        problems.append(
            _("Die Förderanteile der Mittelausstattung (%(own)s) müssen denen des Bescheids (%(notice)s) gleichen.")
            % {"own": allocation.shares_display, "notice": notice.shares_display}
        )
    others = notice.allocations.exclude(pk=allocation.pk).aggregate(total=models.Sum("amount"))["total"] or 0
    if allocation.amount is not None and others + allocation.amount > notice.eligible_total:
        problems.append(
            _(
                "Die Mittelausstattungen auf dem Bescheid ergäben %(sum)s €; zuwendungsfähig sind nach dem Bescheid "
                "höchstens %(total)s €."
            )
            % {"sum": format_amount(others + allocation.amount), "total": format_amount(notice.eligible_total)}
        )
    return problems


class StateNotice(FundingShares):
    """Zuwendungsbescheid des Landes an die Kommune: the state's grant to the town that programme allocations draw on.

    Its eligible total and funding shares bind the allocations on it; its cash per year (``StateTranche``,
    Kassenmittel) is what the town may draw down (``Drawdown``) in each year of the approval period.
    """

    municipality = models.ForeignKey(
        "core.Municipality", verbose_name=_("Kommune"), on_delete=models.PROTECT, related_name="state_notices"
    )
    number = models.CharField(_("Aktenzeichen des Bescheids"), max_length=60)
    issued_on = models.DateField(_("Bescheid vom"))
    funding_body = models.CharField(
        _("Bewilligungsbehörde"), max_length=200, help_text=_("etwa: Bezirksregierung Köln")
    )
    eligible_total = MoneyField(_("zuwendungsfähige Ausgaben"), validators=positive_money_validators)
    period_start = models.DateField(_("Bewilligungszeitraum von"))
    period_end = models.DateField(_("Bewilligungszeitraum bis"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("erfasst von"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("erfasst am"), auto_now_add=True)

    class Meta:
        verbose_name = _("Zuwendungsbescheid des Landes")
        verbose_name_plural = _("Zuwendungsbescheide des Landes")
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "number"],
                name="one_state_notice_number_per_municipality",
                violation_error_message=_("Für die Kommune ist ein Bescheid mit diesem Aktenzeichen schon erfasst."),
            ),
            models.CheckConstraint(
                condition=Q(eligible_total__gt=0, eligible_total__lte=MAX_AMOUNT),
                name="state_notice_total_positive",
            ),
            models.CheckConstraint(condition=Q(share_whole__gt=0), name="state_notice_share_whole_positive"),
            models.CheckConstraint(
                condition=Q(share_whole=_SHARE_SUM),
                name="state_notice_shares_sum_to_one",
                violation_error_message=_("Die Förderanteile müssen zusammen 100 %% ergeben."),
            ),
            models.CheckConstraint(
                condition=Q(period_start__lte=F("period_end")),
                name="state_notice_period_in_order",
                violation_error_message=_("Der Bewilligungszeitraum endet nicht vor seinem Beginn."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.funding_body})"

    @property
    def years(self) -> range:
        return range(self.period_start.year, self.period_end.year + 1)

    def clean(self) -> None:
        self._clean_fine_shares()
        self._clean_shares_sum()
        if self.period_start and self.period_end and self.period_start > self.period_end:
            raise ValidationError(
                {"period_end": _("Der Bewilligungszeitraum endet nicht vor seinem Beginn.")}, code="period"
            )
        if self.pk is None:
            return
        allocations = list(self.allocations.all())
        if any(allocation.shares != self.shares for allocation in allocations):
            raise ValidationError(
                _("Die Förderanteile stehen fest, solange Mittelausstattungen auf dem Bescheid stehen.")
            )
        drawn_on = sum((allocation.amount for allocation in allocations), Decimal("0.00"))
        tranches = self.tranches.aggregate(total=models.Sum("amount"))["total"] or 0
        if self.eligible_total is not None and max(drawn_on, tranches) > self.eligible_total:
            raise ValidationError(
                {
                    "eligible_total": _(
                        "Die Mittelausstattungen und Kassenmittel auf dem Bescheid übersteigen den Betrag."
                    )
                }
            )


class StateTranche(models.Model):
    """Kassenmittel: the cash the state notice makes available in one year of its approval period."""

    notice = models.ForeignKey(
        StateNotice, verbose_name=_("Zuwendungsbescheid des Landes"), on_delete=models.CASCADE, related_name="tranches"
    )
    year = models.PositiveSmallIntegerField(
        _("Haushaltsjahr"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    amount = MoneyField(_("Kassenmittel"), validators=positive_money_validators)

    class Meta:
        verbose_name = _("Kassenmittel")
        verbose_name_plural = _("Kassenmittel")
        ordering = ["notice", "year"]
        constraints = [
            models.UniqueConstraint(
                fields=["notice", "year"],
                name="one_tranche_per_notice_year",
                violation_error_message=_("Für dieses Jahr sind schon Kassenmittel erfasst."),
            ),
            models.CheckConstraint(condition=Q(amount__gt=0, amount__lte=MAX_AMOUNT), name="tranche_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.notice.number} {self.year}: {self.amount} €"

    def clean(self) -> None:
        if self.notice_id is None or self.year is None or self.amount is None:
            return
        problems = tranche_problems(self.notice, [(self.year, self.amount)])
        if problems:
            raise ValidationError(problems)


def tranche_problems(notice: StateNotice, tranches: list[tuple[int, Decimal]]) -> list[str]:
    """Why a notice's cash per year cannot stand: a year twice, a year outside the period, more than the total."""
    problems = []
    years = [year for year, _amount in tranches]
    if notice.period_start and notice.period_end:
        first, last = notice.period_start.year, notice.period_end.year
        problems += [
            _("Das Jahr %(year)s liegt außerhalb des Bewilligungszeitraums (%(first)s–%(last)s).")
            % {"year": year, "first": first, "last": last}
            for year in sorted(set(years))
            if not first <= year <= last
        ]
    if len(set(years)) != len(years):
        problems.append(_("Je Jahr gibt es einen Betrag Kassenmittel; ein Jahr ist doppelt."))
    total = sum((amount for _year, amount in tranches), Decimal("0.00"))
    if notice.eligible_total is not None and total > notice.eligible_total:
        problems.append(
            _("Die Kassenmittel ergäben zusammen %(sum)s €, mehr als die %(total)s € des Bescheids.")
            % {"sum": format_amount(total), "total": format_amount(notice.eligible_total)}
        )
    return problems


class DrawdownIsAppendOnly(AppendOnlyError):
    pass


# The shares the state pays out and a drawdown requests; the town's and the owners' own money is never drawn down.
DRAWN_SHARES = ("federal", "state")


class Drawdown(AppendOnlyModel):
    """Mittelabruf: the town requests the federal and state shares of a state notice, as far as they are needed."""

    append_only_error = DrawdownIsAppendOnly
    unchanged_message = _("Ein Mittelabruf wird nie geändert; eine Korrektur ist ein neuer Abruf.")
    undeleted_message = _("Ein Mittelabruf wird nie gelöscht.")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("abgerufen")
        PARTLY_RECEIVED = "partly_received", _("teilweise eingegangen")
        RECEIVED = "received", _("eingegangen")

    notice = models.ForeignKey(
        StateNotice, verbose_name=_("Zuwendungsbescheid des Landes"), on_delete=models.PROTECT, related_name="drawdowns"
    )
    number = models.PositiveIntegerField(_("Nummer"))
    requested_on = models.DateField(_("abgerufen am"))
    federal_amount = MoneyField(_("Bund"))
    state_amount = MoneyField(_("Land"))
    comment = models.CharField(_("Bemerkung"), max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("abgerufen von"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("erfasst am"), auto_now_add=True)

    class Meta:
        verbose_name = _("Mittelabruf")
        verbose_name_plural = _("Mittelabrufe")
        ordering = ["notice", "number"]
        constraints = [
            models.UniqueConstraint(fields=["notice", "number"], name="one_drawdown_number_per_notice"),
            models.CheckConstraint(
                condition=Q(federal_amount__gte=0, state_amount__gte=0)
                & (Q(federal_amount__gt=0) | Q(state_amount__gt=0)),
                name="drawdown_requests_something",
            ),
        ]

    def __str__(self) -> str:
        return _("Mittelabruf %(number)s zu %(notice)s") % {"number": self.number, "notice": self.notice.number}

    @property
    def amount(self) -> Decimal:
        return self.federal_amount + self.state_amount


class DrawdownReceipt(AppendOnlyModel):
    """Geldeingang: (part of) a drawdown arrived from the state, per share; recorded by a second person."""

    append_only_error = DrawdownIsAppendOnly
    unchanged_message = _("Ein Geldeingang wird nie geändert; eine Korrektur ist ein neuer Eintrag.")
    undeleted_message = _("Ein Geldeingang wird nie gelöscht.")

    drawdown = models.ForeignKey(
        Drawdown, verbose_name=_("Mittelabruf"), on_delete=models.PROTECT, related_name="receipts"
    )
    received_on = models.DateField(_("eingegangen am"))
    federal_amount = MoneyField(_("Bund"))
    state_amount = MoneyField(_("Land"))
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("erfasst von"), on_delete=models.PROTECT, related_name="+"
    )
    booked_at = models.DateTimeField(_("erfasst am"), auto_now_add=True)

    class Meta:
        verbose_name = _("Geldeingang")
        verbose_name_plural = _("Geldeingänge")
        ordering = ["drawdown", "received_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(federal_amount__gte=0, state_amount__gte=0)
                & (Q(federal_amount__gt=0) | Q(state_amount__gt=0)),
                name="drawdown_receipt_receives_something",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.drawdown}: {self.received_on:%d.%m.%Y}"

    @property
    def amount(self) -> Decimal:
        return self.federal_amount + self.state_amount


class CashFrame(models.Model):
    """The cash an allocation may bind in one budget year (Haushaltsjahr).

    For the programme year it is the year's appropriation (Ausgabemittel); for a later year the commitment
    appropriation (Verpflichtungsermächtigung) that lets an approval promise a payment in that year. An
    allocation without frames has its whole amount in the programme year. Together the frames are the
    allocation's amount; carry-overs (``CarryOver``) move cash between years without changing them.
    """

    allocation = models.ForeignKey(
        Allocation, verbose_name=_("Mittelausstattung"), on_delete=models.CASCADE, related_name="cash_frames"
    )
    year = models.PositiveSmallIntegerField(
        _("Haushaltsjahr"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    amount = MoneyField(_("Betrag"), validators=[MinValueValidator(Decimal("0.00"))])

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("Kassenmittel je Haushaltsjahr")
        verbose_name_plural = _("Kassenmittel je Haushaltsjahr")
        ordering = ["allocation", "year"]
        constraints = [
            models.UniqueConstraint(fields=["allocation", "year"], name="one_cash_frame_per_allocation_year"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="cash_frame_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.allocation} – {self.year}"


class CarryOver(models.Model):
    """Übertrag: the unspent cash of one budget year of an allocation carried into the next, by two people.

    Finance proposes it after the year has ended; another finance person confirms it, and the confirmation
    books it: the cases' open commitments of the year move into the next (``shift`` entries of the ledger)
    and the year's frame less what was paid in it moves with them. Never booked silently.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("vorgeschlagen")
        BOOKED = "booked", _("gebucht")
        CANCELLED = "cancelled", _("verworfen")

    allocation = models.ForeignKey(
        Allocation, verbose_name=_("Mittelausstattung"), on_delete=models.PROTECT, related_name="carry_overs"
    )
    from_year = models.PositiveSmallIntegerField(
        _("aus dem Haushaltsjahr"), validators=[MinValueValidator(2000), MaxValueValidator(2099)]
    )
    status = models.CharField(_("Status"), max_length=10, choices=Status.choices, default=Status.PROPOSED)
    # The cash carried (the year's frame less what was paid in it) and, within it, the open commitments moved.
    amount = MoneyField(_("übertragene Kassenmittel"), default=Decimal("0.00"))
    committed = MoneyField(_("davon gebunden"), default=Decimal("0.00"))
    cases = models.PositiveIntegerField(_("Fälle mit offener Bindung"), default=0)
    comment = models.CharField(_("Begründung"), max_length=500, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("vorgeschlagen von"), on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(_("vorgeschlagen am"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("bestätigt oder verworfen von"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    decided_at = models.DateTimeField(_("bestätigt oder verworfen am"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("Übertrag")
        verbose_name_plural = _("Überträge")
        ordering = ["allocation", "from_year", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["allocation", "from_year"],
                condition=~Q(status="cancelled"),
                name="one_carry_over_per_allocation_year",
                violation_error_message=_("Für dieses Haushaltsjahr gibt es schon einen Übertrag."),
            ),
            models.CheckConstraint(condition=Q(amount__gte=0, committed__gte=0), name="carry_over_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{_('Übertrag')} {self.allocation} {self.from_year} → {self.to_year}"

    @property
    def to_year(self) -> int:
        return self.from_year + 1
