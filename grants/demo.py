"""Demo data for a first run: Musterstadt with two programmes, allocations and cases in every state.

Every case is driven through grants.services, so its ledger entries and log are real.
"""

from __future__ import annotations

from base64 import b32decode
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from urllib.parse import quote, urlencode

from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from applicants.models import Applicant, Consultation, Property, Role, User
from budgets.models import Allocation
from budgets.notices import TrancheInput, allocation_link_state_notice, state_notice_create
from core.models import Municipality
from core.money import CENT

from . import commitment, revocations, services
from .imports import import_workbook, parse_row, read_rows
from .letter_defaults import DEFAULTS
from .models import (
    Document,
    FundingAreaStreet,
    GuidelineVersion,
    Inspection,
    LetterTemplate,
    MeasureKind,
    Programme,
    ProgrammeComponentRule,
    Revocation,
)
from .services import ComponentInput, CostInput

# Demo logins: username, password, role, full name. Printed by `make run`; never for production.
DEMO_USERS = [
    ("eigentuemerin", "demo-eigentuemerin", Role.APPLICANT, "Erika", "Mustermann"),
    ("sachbearbeitung", "demo-sachbearbeitung", Role.CASEWORKER, "Sabine", "Sachs"),
    ("bewilligung", "demo-bewilligung", Role.APPROVER, "Bernd", "Becker"),
    ("kasse", "demo-kasse", Role.FINANCE, "Karin", "Kassner"),
    ("pruefung", "demo-pruefung", Role.AUDITOR, "Paul", "Prüfer"),
]
DEMO_ADMIN = ("admin", "demo-admin")
# The second factor of the demo staff and admin: one fixed, published TOTP secret for all of them, so a
# tester adds it once to an authenticator app. Printed with the passwords; as public as they are.
DEMO_TOTP_SECRET = "FOERDERDESK2FADEMOMUSTERSTADT234"


def demo_totp_uri() -> str:
    """The otpauth URI of the demo secret, for an authenticator app (as a link or QR code)."""
    query = urlencode({"secret": DEMO_TOTP_SECRET, "issuer": "Förderdesk", "digits": 6, "period": 30})
    return f"otpauth://totp/{quote('Förderdesk:Demo')}?{query}"


def _demo_authenticator(user: User) -> None:
    TOTPDevice.objects.create(
        user=user, name="Demo-Authenticator", key=b32decode(DEMO_TOTP_SECRET).hex(), confirmed=True
    )


# A minimal valid one-page PDF, standing in for the scans an owner would upload.
PLACEHOLDER_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _user(username, password, role, first_name, last_name, municipality=None) -> User:
    user = User.objects.create_user(
        username=username, password=password, first_name=first_name, last_name=last_name,
        email=f"{username}@musterstadt.example",
    )  # fmt: skip
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    if municipality and role != Role.APPLICANT:
        municipality.staff.add(user)
    return user


def _programmes(musterstadt: Municipality, year: int) -> tuple[Programme, Programme]:
    facade = Programme.objects.create(
        municipality=musterstadt,
        kind=Programme.Kind.FACADE,
        name="Fassadenprogramm Altstadt",
        code="FP",
        description="Zuschüsse für die Erneuerung von Fassaden, Hofflächen und Begrünung im Sanierungsgebiet Altstadt.",
        opens_on=timezone.localdate().replace(month=1, day=1),
        closes_on=timezone.localdate().replace(month=12, day=31),
    )
    facade_terms = GuidelineVersion.objects.create(
        programme=facade,
        valid_from=timezone.localdate().replace(month=1, day=1),
        reason="Förderrichtlinie Fassadenprogramm Altstadt, Ratsbeschluss vom 10. Dezember des Vorjahres",
        funding_rate_percent=Decimal("50"),
        property_cap=Decimal("15000.00"),
        minimum_grant=Decimal("1000.00"),
        ancillary_cap_percent=Decimal("15"),
        consultation_required=True,
        consultation_max_age_days=365,
        quotes_required=1,
    )
    ProgrammeComponentRule.objects.bulk_create([
        ProgrammeComponentRule(
            version=facade_terms,
            component="facade",
            grant_cap_per_m2=Decimal("40.00"),
            grant_cap_per_m2_special_value=Decimal("60.00"),  # listed or townscape-defining buildings
        ),
        ProgrammeComponentRule(version=facade_terms, component="courtyard", cost_cap_per_m2=Decimal("60.00")),
        ProgrammeComponentRule(version=facade_terms, component="greening", component_cap=Decimal("5000.00")),
    ])  # fmt: skip
    shop = Programme.objects.create(
        municipality=musterstadt,
        kind=Programme.Kind.SHOP_WINDOW,
        name="Schaufenster- und Leerstandsprogramm",
        code="SF",
        description="Zuschüsse für die Gestaltung von Schaufenstern und die Wiederbelebung leerer Ladenlokale.",
    )
    shop_terms = GuidelineVersion.objects.create(
        programme=shop,
        valid_from=timezone.localdate().replace(month=1, day=1),
        reason="Förderrichtlinie Schaufensterprogramm, Ratsbeschluss vom 10. Dezember des Vorjahres",
        funding_rate_percent=Decimal("40"),
        property_cap=Decimal("10000.00"),
        minimum_grant=Decimal("500.00"),
        consultation_required=False,
        quotes_required=2,
    )
    ProgrammeComponentRule.objects.create(version=shop_terms, component="shop_window", component_cap=Decimal("6000.00"))
    for terms in (facade_terms, shop_terms):
        FundingAreaStreet.objects.bulk_create([
            FundingAreaStreet(version=terms, street="Hauptstraße", number_from=1, number_to=99),
            FundingAreaStreet(version=terms, street="Marktplatz"),
            FundingAreaStreet(version=terms, street="Kirchgasse", number_from=2, number_to=40,
                              parity=FundingAreaStreet.Parity.EVEN),
        ])  # fmt: skip
    facade.refresh_from_db()
    shop.refresh_from_db()
    Allocation.objects.create(
        programme=facade, year=year, amount=Decimal("250000.00"),
        # Städtebauförderung in thirds: Bund, Land and Kommune one third each, exactly.
        federal_share="1/3", state_share="1/3", municipal_share="1/3",
    )  # fmt: skip
    Allocation.objects.create(
        programme=shop, year=year, amount=Decimal("80000.00"),
        state_share="3/5", municipal_share="2/5",
    )  # fmt: skip
    return facade, shop


def _import_cases(programme: Programme, workbook: Path, *, by: User) -> None:
    with workbook.open("rb") as file:
        rows = read_rows(file)
    # The demo's allocation is for this year; the workbook's cases may be of other years too.
    current = Allocation.objects.get(programme=programme, year=timezone.localdate().year)
    for number, raw in rows:
        case = parse_row(number, raw)
        if case.approved_on:
            Allocation.objects.get_or_create(
                programme=programme, year=case.approved_on.year,
                defaults={"amount": current.amount, **{f"{s}_share": getattr(current, f"{s}_share")
                                                       for s in ("federal", "state", "municipal", "private")}},
            )  # fmt: skip
    with workbook.open("rb") as file:
        report = import_workbook(programme_id=programme.pk, file=file, by=by)
    if not report.committed:
        raise ValueError(f"{workbook}: {report.error or [(r.number, r.reasons) for r in report.refused]}")


def _document(application, kind: str, by: User) -> None:
    document = Document(application=application, kind=kind, original_name=f"{kind}.pdf", uploaded_by=by)
    document.file.save(f"{kind}.pdf", ContentFile(PLACEHOLDER_PDF), save=False)
    document.save()


def _case(programme, owner: User, name: str, street: str, number: str, measure: str, area: str, net: str, **applicant):
    applicant = Applicant.objects.create(
        user=owner, name=name, street=street, house_number=number, postcode="12345", city="Musterstadt",
        email=owner.email, iban="DE02120300000000202051", **applicant,
    )  # fmt: skip
    prop = Property.objects.create(
        registered_by=applicant, street=street, house_number=number, postcode="12345", city="Musterstadt",
        cadastral_district="Musterstadt", cadastral_sheet="4", parcel=f"{number}/1",
    )  # fmt: skip
    net_amount = Decimal(net)
    application = services.application_create(
        programme=programme,
        applicant=applicant,
        property=prop,
        by=owner,
        description=f"{MeasureKind(measure).label}: {street} {number}",
        components=[
            ComponentInput(
                measure,
                Decimal(area),
                (CostInput("Arbeiten laut Angebot", net_amount, (net_amount * Decimal("0.19")).quantize(CENT)),),
            )
        ],  # fmt: skip
    )
    Consultation.objects.create(
        municipality=programme.municipality, applicant=applicant, property=prop,
        held_on=timezone.localdate() - timedelta(days=30), adviser="Vor-Ort-Büro Altstadt",
        topics="Farbkonzept, Fördervoraussetzungen", outcome="Antrag empfohlen",
    )  # fmt: skip
    for _ in range(programme.current_version.quotes_required):
        _document(application, Document.Kind.QUOTE, owner)
    _document(application, Document.Kind.PHOTO_BEFORE, owner)
    _document(application, Document.Kind.LAND_REGISTER, owner)
    return application


def _state_notice(musterstadt: Municipality, facade: Programme, year: int, *, by: User) -> None:
    """The state's funding notice the façade programme draws on: thirds, three budget years of cash."""
    notice = state_notice_create(
        by=by, municipality_id=musterstadt.pk, number=f"34.2-{year}-017", issued_on=date(year, 1, 2),
        funding_body="Bezirksregierung Musterbezirk", eligible_total=Decimal("750000.00"),
        shares={"federal": Fraction(1, 3), "state": Fraction(1, 3), "municipal": Fraction(1, 3)},
        period_start=date(year, 1, 1), period_end=date(year + 2, 12, 31),
        tranches=[TrancheInput(y, Decimal("250000.00")) for y in (year, year + 1, year + 2)],
    )  # fmt: skip
    allocation = Allocation.objects.get(programme=facade, year=year)
    allocation_link_state_notice(allocation_id=allocation.pk, notice_id=notice.pk, by=by)


SAMPLE_WORKBOOK = Path(__file__).parent / "sample_data" / "altfaelle_musterstadt.xlsx"


@transaction.atomic
def load_demo_data(*, workbook: str | Path | None = None) -> bool:
    """Create the demo once; returns False when Musterstadt already exists.

    With ``workbook`` the cases come from that Excel file of legacy cases (e.g. ``SAMPLE_WORKBOOK``)
    through the import service instead of being driven through the lifecycle here.
    """
    if Municipality.objects.filter(name="Musterstadt").exists():
        return False
    year = timezone.localdate().year
    musterstadt = Municipality.objects.create(
        name="Musterstadt", official_name="Stadt Musterstadt – Amt für Stadtentwicklung",
        address="Rathausplatz 1\n12345 Musterstadt",
        # The account payments leave from: the paid demo cases can go into a payment run (payments).
        debtor_name="Stadtkasse Musterstadt", debtor_iban="DE02500105170137075030",
    )  # fmt: skip
    users = {role: _user(*row[:2], role, *row[3:], municipality=musterstadt) for row in DEMO_USERS for role in [row[2]]}
    if not User.objects.filter(username=DEMO_ADMIN[0]).exists():
        _demo_authenticator(User.objects.create_superuser(DEMO_ADMIN[0], "admin@musterstadt.example", DEMO_ADMIN[1]))
    for role, user in users.items():
        if role != Role.APPLICANT:
            _demo_authenticator(user)
    facade, shop = _programmes(musterstadt, year)
    LetterTemplate.objects.bulk_create(
        LetterTemplate(
            municipality=musterstadt,
            kind=kind,
            subject=wording["subject"],
            body=wording["body"],
            signatory="Im Auftrag\n\nSabine Sachs\nSachgebiet Städtebauförderung",
            legal_remedy_notice=wording["legal_remedy_notice"],
        )
        for kind, wording in DEFAULTS.items()
    )
    owner, caseworker, approver, finance = (
        users[r] for r in (Role.APPLICANT, Role.CASEWORKER, Role.APPROVER, Role.FINANCE)
    )
    _state_notice(musterstadt, facade, year, by=finance)
    if workbook is not None:
        _import_cases(facade, Path(workbook), by=caseworker)
        return True

    def walk(application, *steps):
        for step in steps:
            if step == "submit":
                services.application_submit(application_id=application.pk, by=owner)
            elif step == "check":
                services.application_check(
                    application_id=application.pk, by=caseworker, comment="Unterlagen vollständig"
                )
            elif step == "approve":
                services.application_approve(application_id=application.pk, by=approver)
            elif step == "reject":
                services.application_reject(
                    application_id=application.pk,
                    by=approver,
                    comment="Mit den Arbeiten wurde vor der Bewilligung begonnen.",
                )
            elif step == "pay":
                component = application.components.get()
                net = sum(i.net_amount for i in component.cost_items.all()) * Decimal("0.9")
                services.application_certify_invoices(
                    application_id=application.pk, by=caseworker, comment="Schlussrechnung geprüft",
                    invoices=[ComponentInput(component.kind, component.area_m2, (
                        CostInput("Schlussrechnung", net.quantize(CENT),
                                  (net * Decimal("0.19")).quantize(CENT)),
                    ))],
                )  # fmt: skip
                services.application_pay(application_id=application.pk, by=finance)
            elif step == "partial":  # a first invoice, certified, and a partial payment on it
                _document(application, Document.Kind.INVOICE, owner)
                invoice = services.invoice_record(
                    application_id=application.pk,
                    by=owner,
                    document_id=application.documents.get(kind=Document.Kind.INVOICE).pk,
                    data=services.InvoiceInput(
                        number="2026-118",
                        issued_on=timezone.localdate(),
                        supplier="Malerbetrieb Specht GmbH",
                        measure="facade",
                        description="Gerüst und Anstrich Straßenseite",
                        net_amount=Decimal("12000.00"),
                        vat_amount=Decimal("2280.00"),
                    ),
                )
                services.invoice_certify(
                    application_id=application.pk,
                    by=caseworker,
                    invoice_id=invoice.pk,
                    eligible_amount=Decimal("11500.00"),
                    reason="Gerüststandzeit über das Angebot hinaus",
                )
                services.partial_pay(application_id=application.pk, by=finance)
            elif step == "change":  # the owner asks for a larger area; the caseworker has not checked it yet
                component = application.components.get()
                services.change_request(
                    application_id=application.pk, by=owner,
                    reason="Beim Gerüstbau zeigte sich, dass auch die Giebelseite saniert werden muss.",
                    components=[ComponentInput(component.kind, component.area_m2 + 60, (
                        CostInput("Bauleistung laut neuem Angebot", Decimal("24000.00"), Decimal("4560.00")),
                    ))],
                )  # fmt: skip
            elif step == "hearing":  # a sale within the commitment period: the hearing before a partial revocation
                application.refresh_from_db()
                revocations.revocation_open(
                    application_id=application.pk,
                    by=caseworker,
                    reason=Revocation.Reason.SALE,
                    facts="Laut Grundbuchamt ist das Grundstück verkauft; der Käufer nutzt das Erdgeschoss als Lager. "
                    "Beabsichtigt ist ein anteiliger Widerruf für die restliche Zweckbindungsfrist.",
                    hearing_deadline=revocations.hearing_default(timezone.localdate()),
                    intended_amount=(application.approved_grant * Decimal("0.7")).quantize(CENT),
                )
            elif step == "inspect":  # the first inspection in the commitment period, without objection
                commitment.inspection_record(
                    application_id=application.pk,
                    by=caseworker,
                    inspected_on=timezone.localdate(),
                    finding=Inspection.Finding.OK,
                    notes="Fassade und Fenster wie bewilligt erhalten.",
                )
            elif step == "document":
                _document(application, Document.Kind.PHOTO_AFTER, caseworker)
                services.application_document(application_id=application.pk, by=caseworker, comment="Abnahme vor Ort")

    walk(_case(facade, owner, "Erika Mustermann", "Hauptstraße", "12", "facade", "180", "35294.12"))
    walk(_case(facade, owner, "Erika Mustermann", "Marktplatz", "3", "facade", "420", "35294.12",
               may_deduct_input_vat=True), "submit")  # fmt: skip
    walk(_case(facade, owner, "Hausverwaltung Kirchgasse GbR", "Kirchgasse", "8", "courtyard", "150", "14000.00",
               kind=Applicant.Kind.ORGANISATION, organisation="Hausverwaltung Kirchgasse GbR"),
         "submit", "check")  # fmt: skip
    walk(_case(facade, owner, "Erika Mustermann", "Hauptstraße", "40", "facade", "240", "30000.00"),
         "submit", "check", "approve", "partial")  # fmt: skip
    walk(_case(facade, owner, "Erika Mustermann", "Hauptstraße", "44", "facade", "110", "16000.00"),
         "submit", "check", "approve", "change")  # fmt: skip
    walk(_case(facade, owner, "Erika Mustermann", "Hauptstraße", "41", "facade", "120", "12000.00"),
         "submit", "check", "approve", "pay")  # fmt: skip
    walk(_case(facade, owner, "Erika Mustermann", "Hauptstraße", "7", "facade", "200", "20000.00"),
         "submit", "check", "approve", "pay", "document", "inspect")  # fmt: skip
    walk(_case(facade, owner, "Erika Mustermann", "Hauptstraße", "9", "facade", "160", "18000.00"),
         "submit", "check", "approve", "pay", "document", "hearing")  # fmt: skip
    walk(_case(shop, owner, "Café Markt OHG", "Marktplatz", "5", "shop_window", "12", "9000.00",
               kind=Applicant.Kind.ORGANISATION, organisation="Café Markt OHG", may_deduct_input_vat=True,
               standing=Applicant.Standing.TENANT), "submit", "reject")  # fmt: skip
    walk(_case(shop, owner, "Buchhandlung Seitenweise", "Hauptstraße", "22", "shop_window", "8", "7000.00",
               kind=Applicant.Kind.ORGANISATION, organisation="Buchhandlung Seitenweise", may_deduct_input_vat=True),
         "submit")  # fmt: skip
    return True
