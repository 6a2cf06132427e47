"""Synthetic data at scale: one municipality with a façade programme, its staff, an owner, and bulk rows.

The first draft goes through ``application_create`` so its measures, costs and computation are the
product's own; the thousands after it are copies written with ``bulk_create`` (minutes become seconds).
Ledger rows are appended in batches; the ledger is append-only and inserting is all it allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.utils import timezone
from rest_framework.authtoken.models import Token

from applicants.models import Applicant, Consultation, Property, Role, User
from budgets import totals
from budgets.models import SHARES, Allocation, LedgerEntry
from budgets.shares import split_amount
from core.models import Municipality
from grants import services
from grants.models import (
    CostItem,
    Document,
    FundingAreaStreet,
    GrantApplication,
    GuidelineVersion,
    MeasureComponent,
    Programme,
    ProgrammeComponentRule,
)
from grants.services import ComponentInput, CostInput

BATCH = 2000
STREETS = ("Hauptstraße", "Marktplatz", "Kirchgasse", "Lindenallee", "Am Wall")
NAMES = ("Amsel", "Brandt", "Claussen", "Dietrich", "Ebert", "Fischer", "Grote", "Hansen", "Iversen", "Jansen")


@dataclass
class World:
    municipality: Municipality
    programme: Programme
    allocation: Allocation
    caseworker: User
    approver: User
    owner: User
    owner_token: str
    caseworker_token: str
    applicants: list[Applicant]
    properties: list[Property]
    template: GrantApplication
    created: int = 0


def _user(username: str, role: str, municipality: Municipality | None = None) -> User:
    user = User.objects.create_user(username=username, email=f"{username}@bench.example")
    user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    if municipality is not None:
        municipality.staff.add(user)
    return user


def build_world() -> World:
    """The fixed part: municipality, programme with rules and funding area, allocation, people, one draft."""
    year = timezone.localdate().year
    municipality = Municipality.objects.create(name="Benchstadt", official_name="Stadt Benchstadt – Bauamt")
    programme = Programme.objects.create(
        municipality=municipality,
        kind=Programme.Kind.FACADE,
        name="Fassadenprogramm Benchstadt",
        code="FP",
    )
    terms = GuidelineVersion.objects.create(
        programme=programme,
        valid_from=date(2020, 1, 1),
        reason="Förderrichtlinie Benchstadt",
        funding_rate_percent=Decimal("50"),
        property_cap=Decimal("15000.00"),
        minimum_grant=Decimal("1000.00"),
        consultation_required=True,
        quotes_required=1,
    )
    ProgrammeComponentRule.objects.create(version=terms, component="facade", grant_cap_per_m2=Decimal("40.00"))
    FundingAreaStreet.objects.bulk_create(FundingAreaStreet(version=terms, street=s) for s in STREETS)
    programme.refresh_from_db()
    allocation = Allocation.objects.create(
        programme=programme,
        year=year,
        amount=Decimal("9999999.99"),
        federal_share="1/3",
        state_share="1/3",
        municipal_share="1/3",
    )
    caseworker = _user("bench-sachbearbeitung", Role.CASEWORKER, municipality)
    approver = _user("bench-bewilligung", Role.APPROVER, municipality)
    owner = _user("bench-eigentuemer", Role.APPLICANT)
    applicants = Applicant.objects.bulk_create(
        Applicant(
            user=owner,
            name=f"{first} {NAMES[i % len(NAMES)]}",
            street=STREETS[i % len(STREETS)],
            house_number=str(i + 1),
            postcode="12345",
            city="Benchstadt",
            iban="DE89370400440532013000",
        )
        for i, first in enumerate(("Anna", "Bernd", "Clara", "Dirk", "Eva", "Frank", "Gesa", "Holger") * 5)
    )
    properties = Property.objects.bulk_create(
        Property(
            registered_by=applicants[i],
            street=STREETS[i % len(STREETS)],
            house_number=str(i + 1),
            postcode="12345",
            city="Benchstadt",
            parcel=f"{i + 1}/1",
        )
        for i in range(len(applicants))
    )
    template = services.application_create(
        programme=programme,
        applicant=applicants[0],
        property=properties[0],
        by=owner,
        description="Fassadenanstrich",
        components=[
            ComponentInput(
                "facade",
                Decimal("180"),
                (CostInput("Fassadenanstrich laut Angebot", Decimal("35294.12"), Decimal("6705.88")),),
            )
        ],
    )
    return World(
        municipality=municipality,
        programme=programme,
        allocation=allocation,
        caseworker=caseworker,
        approver=approver,
        owner=owner,
        owner_token=Token.objects.create(user=owner).key,
        caseworker_token=Token.objects.create(user=caseworker).key,
        applicants=applicants,
        properties=properties,
        template=template,
        created=1,
    )


def add_applications(world: World, count: int, *, submitted: bool = True) -> list[int]:
    """``count`` more applications like the template: submitted ones with file numbers, or drafts; returns ids."""
    template = world.template
    year = timezone.localdate().year
    now = timezone.now()
    ids: list[int] = []
    for start in range(0, count, BATCH):
        rows = []
        for i in range(start, min(start + BATCH, count)):
            n = world.created + i
            rows.append(
                GrantApplication(
                    programme=world.programme,
                    guideline_version_id=world.programme.current_version_id,
                    applicant=world.applicants[n % len(world.applicants)],
                    property=world.properties[n % len(world.properties)],
                    description=template.description,
                    computed_grant=template.computed_grant,
                    computation=template.computation,
                    state=GrantApplication.State.SUBMITTED if submitted else GrantApplication.State.DRAFT,
                    file_number=f"{world.programme.code}-{year}-{n:04d}" if submitted else "",
                    submitted_at=now - timedelta(minutes=n) if submitted else None,
                )
            )
        applications = GrantApplication.objects.bulk_create(rows)
        _copy_measure(world.template, applications)
        ids += [a.pk for a in applications]
    world.created += count
    return ids


def _copy_measure(template: GrantApplication, applications: list[GrantApplication]) -> None:
    """The template's measure and quoted cost item, copied onto each of the applications."""
    component = template.components.get()
    cost = component.cost_items.get()
    components = MeasureComponent.objects.bulk_create(
        MeasureComponent(application=a, kind=component.kind, area_m2=component.area_m2) for a in applications
    )
    CostItem.objects.bulk_create(
        CostItem(
            component=c,
            stage=cost.stage,
            description=cost.description,
            net_amount=cost.net_amount,
            vat_amount=cost.vat_amount,
        )
        for c in components
    )


def add_ledger_entries(world: World, allocation: Allocation, count: int) -> None:
    """Append ``count`` bookings to an allocation, every kind alike, in batches."""
    applications = list(GrantApplication.objects.filter(programme=world.programme).values_list("pk", flat=True)[:500])
    # Each commitment is released again, so the allocation can still carry the grants the other figures approve.
    kinds = (LedgerEntry.Kind.COMMITMENT, LedgerEntry.Kind.PAYMENT, LedgerEntry.Kind.RECLAIM, LedgerEntry.Kind.RELEASE)
    amount = Decimal("12.34")
    parts = split_amount(amount, allocation.shares)
    for start in range(0, count, BATCH):
        LedgerEntry.objects.bulk_create(
            LedgerEntry(
                allocation=allocation,
                application_id=applications[i % len(applications)],
                kind=kinds[i % len(kinds)],
                cash_year=allocation.year,
                amount=amount,
                booked_by=world.approver,
                comment=f"Buchung {i}",
                **{f"{share}_amount": parts[share] for share in SHARES},
            )
            for i in range(start, min(start + BATCH, count))
        )
    # Bulk inserts bypass the booking service: the kept totals are rebuilt from the entries, as a migration does.
    totals.rebuild(Allocation.objects.filter(pk=allocation.pk))


def approved_case(world: World) -> GrantApplication:
    """One case walked through submit, check and approve by the services: the approval notice's subject."""
    application = services.application_create(
        programme=world.programme,
        applicant=world.applicants[1],
        property=world.properties[1],
        by=world.owner,
        description="Fassadenanstrich und Begrünung",
        components=[
            ComponentInput(
                "facade", Decimal("220"), (CostInput("Fassade laut Angebot", Decimal("30000.00"), Decimal("5700.00")),)
            )
        ],
    )
    for kind in (Document.Kind.QUOTE, Document.Kind.PHOTO_BEFORE, Document.Kind.LAND_REGISTER):
        document = Document(application=application, kind=kind, original_name=f"{kind}.pdf")
        document.file.save(f"{kind}.pdf", ContentFile(b"%PDF-1.4\n%bench\n"), save=False)
        document.save()
    Consultation.objects.create(
        municipality=world.municipality,
        applicant=application.applicant,
        property=application.property,
        held_on=timezone.localdate(),
        adviser="Vor-Ort-Büro",
    )
    services.application_submit(application_id=application.pk, by=world.owner)
    services.application_check(application_id=application.pk, by=world.caseworker, comment="Vollständig")
    services.application_approve(application_id=application.pk, by=world.approver, comment="Bewilligt")
    application.refresh_from_db()
    return application


def build_statement_programme(world: World) -> tuple[Programme, Allocation]:
    """A second programme of the town with an allocation of its own: the proof-of-use statement's subject."""
    programme = Programme.objects.create(
        municipality=world.municipality,
        kind=Programme.Kind.COURTYARD,
        name="Hof- und Fassadenprogramm Benchstadt",
        code="HP",
    )
    GuidelineVersion.objects.create(
        programme=programme, valid_from=date(2020, 1, 1), reason="Förderrichtlinie", funding_rate_percent=Decimal("50")
    )
    programme.refresh_from_db()
    allocation = Allocation.objects.create(
        programme=programme,
        year=world.allocation.year,
        amount=Decimal("9999999.99"),
        federal_share="1/3",
        state_share="1/3",
        municipal_share="1/3",
    )
    return programme, allocation


def add_funded_measures(world: World, programme: Programme, allocation: Allocation, count: int, *, offset: int) -> None:
    """``count`` paid applications of the programme, each with its measure, a commitment and a payment."""
    template = world.template
    year = allocation.year
    now = timezone.now()
    # Small grants (a disposition fund's), so that 100,000 of them fit one allocation's legal maximum.
    grant, paid = Decimal("90.00"), Decimal("80.00")
    commitment_parts = split_amount(grant, allocation.shares)
    payment_parts = split_amount(paid, allocation.shares)
    # Closed as the booking service closes a case: per share, paid + released = committed.
    release_parts = {share: commitment_parts[share] - payment_parts[share] for share in SHARES}
    for start in range(0, count, BATCH):
        numbers = range(offset + start, offset + min(start + BATCH, count))
        applications = GrantApplication.objects.bulk_create(
            GrantApplication(
                programme=programme,
                guideline_version_id=programme.current_version_id,
                applicant=world.applicants[n % len(world.applicants)],
                property=world.properties[n % len(world.properties)],
                description=template.description,
                computed_grant=grant,
                computation=template.computation,
                total_costs=template.total_costs,
                eligible_costs=template.eligible_costs,
                state=GrantApplication.State.PAID,
                file_number=f"{programme.code}-{year}-{n:06d}",
                submitted_at=now - timedelta(days=60),
                approved_at=now - timedelta(days=30),
                approved_grant=grant,
                budget_year=year,
                paid_at=now - timedelta(days=1),
                paid_amount=paid,
            )
            for n in numbers
        )
        _copy_measure(world.template, applications)
        entries = []
        for application in applications:
            for kind, amount, parts in (
                (LedgerEntry.Kind.COMMITMENT, grant, commitment_parts),
                (LedgerEntry.Kind.PAYMENT, paid, payment_parts),
                (LedgerEntry.Kind.RELEASE, grant - paid, release_parts),
            ):
                entries.append(
                    LedgerEntry(
                        allocation=allocation,
                        application=application,
                        kind=kind,
                        cash_year=allocation.year,
                        amount=amount,
                        booked_by=world.approver,
                        comment=application.file_number,
                        **{f"{share}_amount": parts[share] for share in SHARES},
                    )
                )
        LedgerEntry.objects.bulk_create(entries)
    totals.rebuild(Allocation.objects.filter(pk=allocation.pk))
