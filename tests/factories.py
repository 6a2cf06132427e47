"""factory_boy factories: a small Musterstadt with one façade programme, as the worked example of docs/domain.md."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.utils import timezone

from applicants.models import Applicant, Consultation, Property, User
from budgets.models import Allocation
from core.models import Municipality
from grants.models import (
    Document,
    FundingAreaStreet,
    GrantApplication,
    GuidelineVersion,
    Programme,
    ProgrammeComponentRule,
)
from grants.services import ComponentInput, CostInput, application_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("geheim-genug-123")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or ():
            self.groups.add(Group.objects.get_or_create(name=role)[0])

    @factory.post_generation
    def municipalities(self, create, extracted, **kwargs):
        for municipality in extracted or ():
            municipality.staff.add(self)


class MunicipalityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Municipality
        django_get_or_create = ("name",)

    name = "Musterstadt"
    official_name = "Stadt Musterstadt – Amt für Stadtentwicklung"


class ProgrammeFactory(factory.django.DjangoModelFactory):
    """Guideline version 1: rate 50 %, grant cap 40 €/m² of façade, property cap 15,000 €, minimum grant 1,000 €.

    Its terms can be changed as ``version__<field>`` (``ProgrammeFactory(version__funding_rate_percent=...)``).
    """

    class Meta:
        model = Programme
        skip_postgeneration_save = True

    municipality = factory.SubFactory(MunicipalityFactory)
    kind = Programme.Kind.FACADE
    name = "Fassadenprogramm Altstadt"
    code = "FP"

    @factory.post_generation
    def version(self, create, extracted, **kwargs):
        terms = {
            "funding_rate_percent": Decimal("50"),
            "property_cap": Decimal("15000.00"),
            "minimum_grant": Decimal("1000.00"),
            "consultation_required": True,
            "quotes_required": 1,
            **kwargs,
        }
        version = GuidelineVersion.objects.create(
            programme=self, valid_from=date(2020, 1, 1), reason="Ratsbeschluss vom 1. Dezember 2019", **terms
        )
        ProgrammeComponentRule.objects.create(version=version, component="facade", grant_cap_per_m2=Decimal("40.00"))
        FundingAreaStreet.objects.create(version=version, street="Hauptstraße", number_from=1, number_to=99)
        self.current_version = version


class AllocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Allocation

    programme = factory.SubFactory(ProgrammeFactory)
    year = factory.LazyFunction(lambda: timezone.localdate().year)
    amount = Decimal("100000.00")
    federal_percent = Decimal("33.34")
    state_percent = Decimal("33.33")
    municipal_percent = Decimal("33.33")
    private_percent = Decimal("0")


class ApplicantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Applicant

    user = factory.SubFactory(UserFactory, roles=["applicant"])
    name = factory.Faker("name", locale="de_DE")
    street = "Hauptstraße"
    house_number = "12"
    postcode = "12345"
    city = "Musterstadt"
    iban = "DE89370400440532013000"
    may_deduct_input_vat = False


class PropertyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Property

    street = "Hauptstraße"
    house_number = "12"
    postcode = "12345"
    city = "Musterstadt"
    cadastral_district = "Musterstadt"
    cadastral_sheet = "3"
    parcel = "117/2"


def make_application(
    *,
    programme: Programme,
    applicant: Applicant,
    property: Property | None = None,
    net: str = "35294.12",
    vat: str = "6705.88",
    area: str = "180",
    with_documents: bool = True,
    with_consultation: bool = True,
):
    """A draft ready to submit: one façade measure, its quote, the documents and the consultation."""
    property = property or PropertyFactory()
    application = application_create(
        programme=programme,
        applicant=applicant,
        property=property,
        by=applicant.user,
        components=[
            ComponentInput(
                kind="facade",
                area_m2=Decimal(area),
                costs=(CostInput("Fassadenanstrich laut Angebot", Decimal(net), Decimal(vat)),),
            )
        ],
    )
    if with_documents:
        for kind in (Document.Kind.QUOTE, Document.Kind.PHOTO_BEFORE, Document.Kind.LAND_REGISTER):
            add_document(application, kind)
    if with_consultation:
        Consultation.objects.create(
            municipality=programme.municipality,
            applicant=applicant,
            property=property,
            held_on=timezone.localdate(),
            adviser="Vor-Ort-Büro",
        )
    return application


def add_document(application, kind: str) -> Document:
    document = Document(application=application, kind=kind, original_name=f"{kind}.pdf")
    document.file.save(f"{kind}.pdf", ContentFile(b"%PDF-1.4\n%test\n"), save=False)
    document.save()
    return document


def advance(application, target: str, people):
    """Walk an application along the main path up to ``target`` with the right person at each step."""
    from grants import services

    invoices = [
        ComponentInput(
            "facade", Decimal("180"), (CostInput("Schlussrechnung", Decimal("35294.12"), Decimal("6705.88")),)
        )
    ]
    steps = [
        (
            "submitted",
            lambda: services.application_submit(application_id=application.pk, by=application.applicant.user),
        ),
        ("checked", lambda: services.application_check(application_id=application.pk, by=people.caseworker)),
        ("approved", lambda: services.application_approve(application_id=application.pk, by=people.approver)),
        (
            "paid",
            lambda: (
                services.application_certify_invoices(
                    application_id=application.pk, by=people.caseworker, invoices=invoices
                ),
                services.application_pay(application_id=application.pk, by=people.finance),
            ),
        ),
        (
            "documented",
            lambda: (
                add_document(application, Document.Kind.PHOTO_AFTER),
                services.application_document(application_id=application.pk, by=people.caseworker),
            ),
        ),
    ]
    for state, step in steps:
        if application.state == target:
            break
        step()
        application.refresh_from_db()
        assert application.state == state
    return application


def make_deminimis_grant(
    programme, applicant, *, on: date, amount: str, number: int, regulation="general", code="SF"
) -> GrantApplication:
    """A de-minimis grant approved on a day (its fields set directly: the lifecycle is tested elsewhere)."""
    application = make_application(programme=programme, applicant=applicant, with_documents=False)
    GrantApplication.objects.filter(pk=application.pk).update(
        state="approved",
        file_number=f"{code}-{on.year}-{number:04d}",
        submitted_at=timezone.now(),
        approved_at=timezone.make_aware(datetime.combine(on, time(9, 30))),
        approved_grant=Decimal(amount),
        deminimis_regulation=regulation,
        deminimis_ceiling=Decimal("300000.00"),
    )
    return GrantApplication.objects.get(pk=application.pk)
