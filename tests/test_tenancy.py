"""Tenancy: staff of one municipality see nothing of another, through any door.

Two towns, each with a full set of data. Staff of Musterstadt (every role, and one colleague with
admin access) walk every URL pattern the project has, found by iterating the URL resolver, with the
ids of Nordheim's objects put in for each parameter: lists must not show Nordheim's names or file
numbers, detail pages of Nordheim's objects must answer 404 (the admin: back to its index). A
pattern that is neither walked nor listed as exempt with a reason fails the test by its route, so a
new view cannot escape the walk.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from openpyxl import load_workbook

from applicants.models import Consultation, SingleUndertaking
from budgets.models import CarryOver, LedgerEntry, StateNotice
from budgets.notices import TrancheInput, allocation_link_state_notice, state_notice_create
from grants import services
from grants.batches import letter_batch_create
from grants.drawdowns import drawdown_request
from grants.models import Document, FundingAreaStreet, GrantApplication, InternalNote, LetterTemplate
from payments import services as payment_services
from reports.services import statement_request

from .factories import (
    AllocationFactory,
    ApplicantFactory,
    MunicipalityFactory,
    ProgrammeFactory,
    PropertyFactory,
    UserFactory,
    add_document,
    advance,
    make_application,
    make_deminimis_grant,
)

pytestmark = pytest.mark.django_db

ROLES = ("caseworker", "approver", "finance", "auditor")
# The admin is walked by the colleague with admin access, and by one role without it (sent to the admin's login).
ADMIN_WALKERS = ("admin", "auditor")

# What no page of Musterstadt's staff may ever show: Nordheim's names, streets, file numbers, notes, people.
NORDHEIM_SECRETS = (
    "Nordheim",
    "Berta Nordmann",
    "Nordweg",
    "NH-20",
    "Hofprogramm Nordwall",
    "Vermerk Nordlicht",
    "Nora Nordberaterin",
    "nordheim-",
    "berta-nord",
)

# Patterns that show no municipality's data, by route, with the reason.
EXEMPT = {
    "": "public programme list: open programmes of every town are published for owners",
    "konto/": "account pages (django-allauth): the logged-in user's own account, no municipality's data",
    "i18n/setlang/": "switches the language",
    "api/auth/token/": "logging in for a token: answers with the caller's own token",
    "api/schema/": "the API description: endpoints and fields, no rows",
    "api/docs/": "the API description: endpoints and fields, no rows",
    "admin/login/": "the admin's login",
    "admin/logout/": "the admin's logout",
    "admin/password_change/": "the user's own password",
    "admin/password_change/done/": "the user's own password",
    "admin/jsi18n/": "the admin's translations for JavaScript",
    "admin/(?P<url>.*)$": "the admin's catch-all: redirects to the login or answers 404",
}
# Admin models whose rows belong to no municipality.
ADMIN_WITHOUT_TOWN = {
    "auth.group": "the roles (groups) are the same for every town",
    "budgets.baserate": "the Bundesbank's base rates are the same for every town",
    "grants.deemednotificationrule": "the rules of deemed notification are law, the same for every town of a state",
}

ADMIN_SUFFIXES = ("", "add/", "<path:object_id>/", "<path:object_id>/change/", "<path:object_id>/history/",
                  "<path:object_id>/delete/")  # fmt: skip


@dataclass(frozen=True)
class Route:
    route: str
    name: str | None
    callback: object


def every_route() -> list[Route]:
    """Every URL pattern of the project, with its full route and namespaced name."""

    def walk(resolver, prefix, namespace):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(filter(None, [namespace, pattern.namespace]))
                yield from walk(pattern, prefix + str(pattern.pattern), inner)
            else:
                name = ":".join(filter(None, [namespace, pattern.name])) if pattern.name else None
                yield Route(prefix + str(pattern.pattern), name, pattern.callback)

    return list(walk(get_resolver(), "", ""))


def admin_model_of(route: str):
    """The registered admin model a route belongs to, with the rest of its route; (None, None) otherwise."""
    for model in admin.site._registry:
        prefix = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
        if route.startswith(prefix):
            return model, route.removeprefix(prefix)
    return None, None


def exemption(route: Route) -> str | None:
    if route.route in EXEMPT:
        return EXEMPT[route.route]
    if route.route.startswith("konto/"):
        return EXEMPT["konto/"]
    model, _rest = admin_model_of(route.route)
    if model is not None and model._meta.label_lower in ADMIN_WITHOUT_TOWN:
        return ADMIN_WITHOUT_TOWN[model._meta.label_lower]
    return None


# --- two towns ---------------------------------------------------------------------------------


def _town(*, name, code, programme_name, owner_name, owner_username, street, adviser, note, staff_prefix):
    municipality = MunicipalityFactory(name=name, official_name=f"Stadt {name} – Amt für Stadtentwicklung")
    programme = ProgrammeFactory(municipality=municipality, name=programme_name, code=code)
    FundingAreaStreet.objects.create(version=programme.current_version, street=street, number_from=1, number_to=99)
    allocation = AllocationFactory(programme=programme)
    staff = {
        role: UserFactory(roles=[role], municipalities=[municipality], username=f"{staff_prefix}{role}")
        for role in ROLES
    }
    people = SimpleNamespace(**staff)
    owner = ApplicantFactory(name=owner_name, street=street, city=name, user__username=owner_username)
    applications = {}
    for state in ("draft", "submitted", "checked", "approved", "paid", "rejected"):
        application = make_application(
            programme=programme, applicant=owner, property=PropertyFactory(street=street, city=name)
        )
        if state == "rejected":
            advance(application, "submitted", people)
            services.application_reject(application_id=application.pk, by=people.caseworker, comment="Außerhalb")
        else:
            advance(application, state, people)
        applications[state] = application
    approved = applications["approved"]
    services.note_add(application_id=approved.pk, by=people.caseworker, text=note)
    invoice_file = add_document(approved, Document.Kind.INVOICE)
    invoice = services.invoice_record(
        application_id=approved.pk,
        by=owner.user,
        document_id=invoice_file.pk,
        data=services.InvoiceInput(
            number=f"{code}-R-1", issued_on=timezone.localdate(), supplier=f"Malerbetrieb {name}", measure="facade",
            description=note, net_amount=Decimal("1000.00"), vat_amount=Decimal("190.00"),
        ),
    )  # fmt: skip
    consultation = Consultation.objects.create(
        municipality=municipality, applicant=owner, property=approved.property, held_on=timezone.localdate(),
        adviser=adviser, topics=note,
    )  # fmt: skip
    # The paid case's payment in a run of the town's finance.
    municipality.debtor_name, municipality.debtor_iban = f"Stadtkasse {name}", "DE02120300000000202051"
    municipality.save()
    value_date = timezone.localdate() + timedelta(days=1)
    while value_date.weekday() >= 5:
        value_date += timedelta(days=1)
    payment_run = payment_services.run_create(by=people.finance, value_date=value_date)
    # The state's notice the allocation stands on, and a drawdown of the paid case's federal share.
    notice = state_notice_create(
        by=people.finance, municipality_id=municipality.pk, number=f"{code}-L-1", issued_on=timezone.localdate(),
        funding_body=f"Bezirksregierung {name}", eligible_total=Decimal("500000.00"), shares=allocation.shares,
        period_start=date(allocation.year, 1, 1), period_end=date(allocation.year, 12, 31),
        tranches=[TrancheInput(year=allocation.year, amount=Decimal("100000.00"))],
    )  # fmt: skip
    allocation_link_state_notice(allocation_id=allocation.pk, notice_id=notice.pk, by=people.finance)
    drawdown = drawdown_request(notice_id=notice.pk, by=people.finance, federal=Decimal("1.00"), state=Decimal("0"))
    return SimpleNamespace(
        municipality=municipality,
        programme=programme,
        allocation=allocation,
        staff=staff,
        owner=owner,
        applications=applications,
        approved=approved,
        document=approved.documents.first(),
        invoice=invoice,
        consultation=consultation,
        ledger_entry=LedgerEntry.objects.filter(allocation=allocation).first(),
        payment_run=payment_run,
        # A carry-over proposed by the town's finance: never confirmed or discarded from another town.
        carry_over=CarryOver.objects.create(
            allocation=allocation, from_year=allocation.year, proposed_by=people.finance
        ),
        notice=notice,
        drawdown=drawdown,
    )


@pytest.fixture
def towns(django_capture_on_commit_callbacks):
    musterstadt = _town(
        name="Musterstadt", code="FP", programme_name="Fassadenprogramm Altstadt", owner_name="Anna Amsel",
        owner_username="anna", street="Marktplatz", adviser="Vor-Ort-Büro Mitte", note="Vermerk Marktplatz",
        staff_prefix="muster-",
    )  # fmt: skip
    # Nordheim's cases run with their letters and e-mails, like in production.
    with django_capture_on_commit_callbacks(execute=True):
        nordheim = _town(
            name="Nordheim", code="NH", programme_name="Hofprogramm Nordwall", owner_name="Berta Nordmann",
            owner_username="berta-nord", street="Nordweg", adviser="Nora Nordberaterin", note="Vermerk Nordlicht",
            staff_prefix="nordheim-",
        )  # fmt: skip
        nordheim.batch = letter_batch_create(application_ids=[nordheim.approved.pk], by=nordheim.staff["caseworker"])
        nordheim.statement = statement_request(
            by=nordheim.staff["caseworker"], programme_id=nordheim.programme.pk, year=nordheim.allocation.year
        )
    nordheim.letter = nordheim.approved.letters.first()
    # A de-minimis grant of Nordheim's, its owner in a single undertaking (linked enterprises).
    nordheim.undertaking = SingleUndertaking.objects.create(name="Nordheim-Gruppe")
    nordheim.owner.single_undertaking = nordheim.undertaking
    nordheim.owner.save()
    nordheim.deminimis = make_deminimis_grant(
        nordheim.programme, nordheim.owner, on=timezone.localdate(), amount="2500.00", number=91, code="NH"
    )
    # Nordheim's approval notice went out by e-mail; an objection against it is pending.
    nordheim.notice_letter = nordheim.approved.letters.get(kind="approval")
    nordheim.appeal = services.appeal_record(
        application_id=nordheim.approved.pk, letter_id=nordheim.notice_letter.pk, by=nordheim.staff["caseworker"],
        kind="objection", received_on=timezone.localdate(), grounds="Vermerk Nordlicht",
    )  # fmt: skip
    nordheim.template = LetterTemplate.objects.create(
        municipality=nordheim.municipality, kind="approval", subject="Bescheid Hofprogramm Nordwall",
        body="Vermerk Nordlicht", signatory="Nora Nordberaterin",
    )  # fmt: skip
    nordheim.device = TOTPDevice.objects.create(user=nordheim.staff["caseworker"], name="Nordheim", confirmed=True)
    seen = {"username": "nordheim-caseworker", "ip_address": "192.0.2.7", "user_agent": "Nordheim", "path_info": "/"}
    nordheim.login_attempts = {
        "attempt": AccessAttempt.objects.create(**seen, get_data="", post_data="", failures_since_start=1),
        "log": AccessLog.objects.create(**seen),
        "failure": AccessFailureLog.objects.create(**seen),
    }
    nordheim.statement.refresh_from_db()
    assert nordheim.letter is not None and nordheim.statement.status == "done"
    # A colleague of Musterstadt who may use the admin, with every permission it offers.
    keeper = UserFactory(roles=["caseworker"], municipalities=[musterstadt.municipality], username="muster-admin")
    keeper.is_staff = True
    keeper.save()
    keeper.user_permissions.set(Permission.objects.all())
    musterstadt.staff["admin"] = keeper
    return SimpleNamespace(a=musterstadt, b=nordheim)


# --- the walk ----------------------------------------------------------------------------------


@dataclass
class Probe:
    method: str
    url: str
    # "nothing": may answer, must not show Nordheim; "not_found": 404; "refused": 403 or 404;
    # "admin_gone": 403, 404 or back to the admin (its index or login), as for a missing row;
    # "like_missing": the same answer as for an id that does not exist (a write whose input is
    # checked before its object is looked up answers 400 alike for both).
    expect: str
    data: dict | None = None
    echoes: tuple[str, ...] = ()  # what the user typed, and the page may repeat
    missing_url: str = ""
    missing_data: dict | None = None  # for "like_missing": what to send instead (default: the same data)


API_OBJECTS = {
    "programme": lambda b: {"pk": b.programme.pk},
    "allocation": lambda b: {"pk": b.allocation.pk},
    "ledger-entry": lambda b: {"pk": b.ledger_entry.pk},
    "statement": lambda b: {"pk": b.statement.pk},
    "applicant": lambda b: {"pk": b.owner.pk},
    "property": lambda b: {"pk": b.approved.property_id},
    "application": lambda b: {"pk": b.approved.pk},
    "application-document": lambda b: {"application_pk": b.approved.pk, "pk": b.document.pk},
    "application-history": lambda b: {"application_pk": b.approved.pk},
    "application-letter": lambda b: {"application_pk": b.approved.pk, "pk": b.letter.pk},
    "payment-run": lambda b: {"pk": b.payment_run.pk},
    "deminimis-register": lambda b: {"pk": b.deminimis.pk},
}


def admin_object(model, b):
    """Nordheim's row of an admin model; None if the world has none."""
    label = model._meta.label_lower
    found = {
        "applicants.user": b.staff["caseworker"],
        "applicants.applicant": b.owner,
        "applicants.property": b.approved.property,
        "applicants.consultation": b.consultation,
        "applicants.singleundertaking": b.undertaking,
        "core.municipality": b.municipality,
        "grants.programme": b.programme,
        "grants.guidelineversion": b.programme.current_version,
        "grants.grantapplication": b.applications["draft"],
        "grants.measurecomponent": b.applications["draft"].components.first(),
        "grants.lettertemplate": b.template,
        "otp_totp.totpdevice": b.device,
        "axes.accessattempt": b.login_attempts["attempt"],
        "axes.accesslog": b.login_attempts["log"],
        "axes.accessfailurelog": b.login_attempts["failure"],
        "grants.letter": b.letter,
        "grants.outboundemail": b.approved.emails.first(),
        "grants.letterbatch": b.batch,
        "budgets.allocation": b.allocation,
        "budgets.ledgerentry": b.ledger_entry,
        "budgets.carryover": b.carry_over,
        "budgets.statenotice": b.notice,
        "budgets.drawdown": b.drawdown,
        "authtoken.tokenproxy": b.staff["caseworker"],  # the token admin is addressed by its user's id
        "account.emailaddress": None,
    }
    return found.get(label, "unknown")


def probes_for(route: Route, b) -> list[Probe] | None:
    """How to walk one pattern with Nordheim's ids; None if the walk does not know the pattern."""
    name = route.name or ""
    # The owner portal: staff are refused there whatever the id.
    if name.startswith("portal:"):
        ids = {"pk": b.applications["draft"].pk, "programme_id": b.programme.pk, "document_id": b.document.pk,
               "letter_id": b.notice_letter.pk}  # fmt: skip
        kwargs = {key: value for key, value in ids.items() if f"<int:{key}>" in route.route}
        if name == "portal:document":
            kwargs = {"pk": b.document.pk}
        url = reverse(name, kwargs=kwargs)
        return [Probe("get", url, "refused"), Probe("post", url, "refused")]
    if name == "letter-download":
        return [Probe("get", reverse(name, args=[b.letter.pk]), "not_found")]
    if name == "letter-batch":
        return [Probe("get", reverse(name, args=[b.batch.pk]), "not_found")]
    lists = {
        "workspace:start": [""],
        "workspace:applications": ["", "?format=xlsx", f"?programme={b.programme.pk}", "?q=NH-20", "?q=Berta Nordmann"],
        "workspace:budgets": [""],
        "workspace:statement_new": [""],
        "workspace:import": [""],
        "workspace:import_template": [""],
        "workspace:consultations": ["", "?q=Berta Nordmann"],
        "workspace:letter_templates": [""],
        # Nordheim's run is never on Musterstadt's list; a run built there gathers only Musterstadt's payments.
        "workspace:payment_runs": [""],
        # Nordheim's checked case waits on Nordheim's list only.
        "workspace:waiting_list": [""],
        # Nordheim's notices are never on Musterstadt's list, nor its open drawdowns on the budget page.
        "workspace:state_notices": [""],
        # Nordheim's paid case is in its commitment period: never on Musterstadt's list.
        "workspace:commitment": ["", "?status=all", f"?programme={b.programme.pk}", "?q=NH-20", "?q=Berta Nordmann"],
        # Nordheim's de-minimis grant is never in Musterstadt's register, whatever the filter.
        "workspace:deminimis_register": ["", f"?municipality={b.municipality.pk}", "?granted_from=2000-01-01"],
        "workspace:deminimis_csv": ["", f"?municipality={b.municipality.pk}", "?granted_from=2000-01-01"],
        "workspace:deminimis_xml": ["", f"?municipality={b.municipality.pk}", "?granted_until=2999-12-31"],
        "workspace:audit": [
            "",
            f"?antrag={b.approved.pk}",
            "?art=programme",
            "?art=mittel",
            "?art=rollen",
            "?art=kommunen",
        ],
    }
    if name in lists:
        return [
            Probe("get", reverse(name) + query, "nothing", echoes=(query.partition("q=")[2],)) for query in lists[name]
        ]
    details = {
        "workspace:application": b.approved.pk,
        "workspace:certify": b.approved.pk,
        "workspace:document": b.document.pk,
        "workspace:allocation": b.allocation.pk,
        "workspace:statement": b.statement.pk,
        "workspace:statement_xlsx": b.statement.pk,
        "workspace:statement_pdf": b.statement.pk,
        "workspace:document_preview": b.document.pk,
        "workspace:letter_template": b.template.pk,
        "workspace:personal_data": b.approved.pk,
        "workspace:revocation_new": b.approved.pk,
        "workspace:revocation_decision": b.approved.pk,
        "workspace:inspection_new": b.applications["paid"].pk,
        "workspace:payment_run": b.payment_run.pk,
        "workspace:payment_run_xml": b.payment_run.pk,
        "workspace:payment_run_xlsx": b.payment_run.pk,
        "workspace:payment_run_pdf": b.payment_run.pk,
        "workspace:state_notice": b.notice.pk,
    }
    if name in details:
        url = reverse(name, args=[details[name]])
        return [Probe("get", url, "not_found"), Probe("post", url, "not_found")]
    if name == "workspace:certify_invoice":
        url = reverse(name, args=[b.approved.pk, b.invoice.pk])
        return [Probe("post", url, "not_found", {"eligible_amount": "1,00", "reason": "fremd"})]
    if name == "workspace:step":
        return [
            Probe("post", reverse(name, args=[b.approved.pk, action]), "not_found", {"comment": "Gesehen"})
            for action in services.TRANSITIONS
        ]
    if name in (
        "workspace:notice_sending",
        "workspace:notice_waiver",
        "workspace:appeal_new",
        "workspace:notice_remedy_defect",
    ):
        url = reverse(name, args=[b.approved.pk, b.notice_letter.pk])
        data = {"sent_on": "01.01.2025", "received_on": "01.01.2025", "kind": "objection", "grounds": "Fremd",
                "defect": "Fremd"}  # fmt: skip
        return [Probe("post", url, "not_found", data)]
    if name == "workspace:appeal_decision":
        url = reverse(name, args=[b.approved.pk, b.appeal.pk])
        return [Probe("post", url, "not_found", {"outcome": "rejected", "decided_on": "01.01.2025"})]
    if name in ("workspace:payment_run_order", "workspace:payment_run_executed"):
        return [Probe("post", reverse(name, args=[b.payment_run.pk]), "not_found", {"executed_on": "01.01.2025"})]
    if name == "workspace:carry_over_new":
        url = reverse(name, args=[b.allocation.pk])
        return [Probe("post", url, "not_found", {"from_year": b.allocation.year, "comment": "fremd"})]
    if name in ("workspace:carry_over_confirm", "workspace:carry_over_cancel"):
        return [Probe("post", reverse(name, args=[b.allocation.pk, b.carry_over.pk]), "not_found")]
    if name == "workspace:payment_item_returned":
        url = reverse(name, args=[b.payment_run.pk, b.payment_run.items.first().pk])
        return [Probe("post", url, "not_found", {"returned_on": "01.01.2025", "reason": "fremd"})]
    if name == "workspace:repayment_new":
        url = reverse(name, args=[b.approved.pk])
        return [Probe("post", url, "not_found", {"received_on": "01.01.2025", "amount": "1,00"})]
    if name == "workspace:drawdown_request":
        return [Probe("post", reverse(name, args=[b.notice.pk]), "not_found", {"federal": "1,00", "state": "0"})]
    if name == "workspace:drawdown_receipt":
        url = reverse(name, args=[b.notice.pk, b.drawdown.pk])
        return [Probe("post", url, "not_found", {"received_on": "01.01.2025", "federal": "1,00"})]
    if name == "workspace:state_notice_new":  # Nordheim is no choice: answered as for a town that does not exist
        data = {"municipality": b.municipality.pk, "number": "X-1", "issued_on": "01.01.2025", "funding_body": "x",
                "eligible_total": "1,00", "federal": "1", "period_start": "01.01.2025", "period_end": "31.12.2025",
                "kassenmittel-TOTAL_FORMS": "0", "kassenmittel-INITIAL_FORMS": "0"}  # fmt: skip
        missing = {**data, "municipality": 10**9}
        return [
            Probe("get", reverse(name), "nothing"),
            Probe("post", reverse(name), "like_missing", data, missing_url=reverse(name), missing_data=missing),
        ]
    if name == "workspace:note":
        return [Probe("post", reverse(name, args=[b.approved.pk]), "not_found", {"text": "Fremder Vermerk"})]
    if name == "workspace:letter_template_new":  # Nordheim's municipality and programme are no choice
        data = {"municipality": b.municipality.pk, "programme": b.programme.pk, "kind": "receipt", "subject": "x",
                "body": "x", "signatory": "x"}  # fmt: skip
        missing = {**data, "municipality": 10**9, "programme": 10**9}
        return [
            Probe("get", reverse(name), "nothing"),
            Probe("get", reverse(name) + "?kind=approval", "nothing"),
            # Answered as for ids that do not exist (a form error), and nothing is saved for Nordheim.
            Probe("post", reverse(name), "like_missing", data, missing_url=reverse(name), missing_data=missing),
        ]
    if name == "workspace:application_letters":  # a batch of the filtered list: never Nordheim's cases
        return [Probe("post", reverse(name) + f"?programme={b.programme.pk}", "nothing"),
                Probe("post", reverse(name) + "?q=NH-20", "nothing", echoes=("NH-20",))]  # fmt: skip
    if name == "workspace:link_consultation":
        data = {"consultation": b.consultation.pk}
        return [Probe("post", reverse(name, args=[b.applications["draft"].pk]), "not_found", data)]
    if name == "workspace:deminimis_reduce":  # Nordheim's submitted case is never reduced from Musterstadt
        data = {"reason": "Höchstbetrag"}
        return [Probe("post", reverse(name, args=[b.applications["submitted"].pk]), "not_found", data)]
    if name == "workspace:rebase":  # Nordheim's pending case is never re-based from Musterstadt
        data = {"reason": "Neue Fassung"}
        return [Probe("post", reverse(name, args=[b.applications["checked"].pk]), "not_found", data)]
    if route.route.startswith("api/"):
        return _api_probes(route, b)
    if route.route.startswith("admin/"):
        return _admin_probes(route, b)
    return None


def _api_probes(route: Route, b) -> list[Probe] | None:
    name = route.name or ""
    kwargs = {"format": "json"} if "(?P<format>" in route.route else {}
    if name == "application-approve-batch":  # Nordheim's checked case is refused as not found, never approved
        data = {"applications": [b.applications["checked"].pk], "comment": "Gesehen"}
        return [Probe("post", reverse(name, kwargs=kwargs), "nothing", data)]
    basename, _, action = name.rpartition("-")
    if action == "list" and basename in API_OBJECTS:
        if "(?P<application_pk>" in route.route:  # a list inside one of Nordheim's applications
            url = reverse(name, kwargs={**kwargs, "application_pk": b.approved.pk})
            return [Probe("get", url, "not_found")]
        return [Probe("get", reverse(name, kwargs=kwargs), "nothing")]
    for basename in sorted(API_OBJECTS, key=len, reverse=True):
        if name.startswith(basename + "-"):
            ids = API_OBJECTS[basename](b)
            url = reverse(name, kwargs={**kwargs, **ids})
            missing = reverse(name, kwargs={**kwargs, **{key: 10**15 for key in ids}})
            methods = set(getattr(route.callback, "actions", {"get": None})) - {"head"}  # HEAD is GET without a body
            if "format" in kwargs:  # the .json twin of a route: its reads are enough
                methods &= {"get"}
            return [
                Probe(method, url, "not_found" if method == "get" else "like_missing", {}, missing_url=missing)
                for method in sorted(methods)
            ]
    return None


def _admin_probes(route: Route, b) -> list[Probe] | None:
    model, rest = admin_model_of(route.route)
    if model is None:
        if route.name in ("admin:index", "admin:app_list"):
            url = reverse("admin:index") if route.name == "admin:index" else reverse(route.name, args=["grants"])
            return [Probe("get", url, "nothing")]
        if route.name == "admin:autocomplete":
            query = "?app_label=grants&model_name=grantapplication&field_name=programme&term=Nord"
            # The programme field has no autocomplete of its own: refused (or back to the admin), whoever asks.
            return [Probe("get", reverse(route.name) + query, "admin_gone")]
        if route.name == "admin:view_on_site":
            content_type = ContentType.objects.get_for_model(b.approved)
            return [Probe("get", reverse(route.name, args=[content_type.pk, b.approved.pk]), "admin_gone")]
        return None
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    if rest == "":
        return [Probe("get", base, "nothing"), Probe("get", base + "?q=Nordheim", "nothing", echoes=("Nordheim",))]
    if rest == "add/":
        return [Probe("get", base + "add/", "nothing")]
    row = admin_object(model, b)
    if row == "unknown":
        return None
    if row is None:  # the world has no such row of Nordheim's; the list and add pages are still walked
        return []
    if rest in ADMIN_SUFFIXES or rest in ("<id>/password/", "<int:pk>/config/", "<int:pk>/qrcode/"):
        return [Probe("get", base + rest.replace("<path:object_id>", str(row.pk)).replace("<id>", str(row.pk))
                      .replace("<int:pk>", str(row.pk)),
                      "admin_gone")]  # fmt: skip
    return None


def _body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        workbook = load_workbook(io.BytesIO(content), read_only=True)
        return "\n".join(
            str(value) for sheet in workbook for row in sheet.iter_rows(values_only=True) for value in row if value
        )
    return content.decode("utf-8", errors="replace")


def _send(client, probe: Probe, url: str):
    if url.startswith("/api/"):
        return getattr(client, probe.method)(url, probe.data or {}, content_type="application/json")
    return getattr(client, probe.method)(url, probe.data or {})


# "nothing" answers with the page (200) or an approval batch queued (202), the role's refusal (403), or a
# redirect within the site: to the login, the admin, the workspace, or the batch of letters just made of
# Musterstadt's own cases; never a 404 or another error, never a page of Nordheim's.
NOTHING_STATUSES = (200, 202, 403)
NOTHING_REDIRECTS = ("/konto/anmelden/", "/admin/", "/arbeitsplatz/", "/schreiben/stapel/")


def _problem(client, probe: Probe) -> str | None:
    response = _send(client, probe, probe.url)
    status = response.status_code
    if probe.expect == "like_missing":
        missing = Probe(probe.method, probe.missing_url, probe.expect, probe.missing_data or probe.data)
        alike = _send(client, missing, probe.missing_url).status_code
        wanted = status == alike and 400 <= status < 500
    else:
        wanted = {
            "not_found": status == 404,
            "refused": status in (403, 404),
            "admin_gone": status in (403, 404)
            or (status == 302 and response["Location"].startswith(reverse("admin:index"))),
            "nothing": status in NOTHING_STATUSES
            or (status == 302 and response["Location"].startswith(NOTHING_REDIRECTS)),
        }[probe.expect]
    if not wanted:
        where = f" to {response['Location']}" if status == 302 else ""
        return f"{probe.method.upper()} {probe.url}: {status}{where}, expected {probe.expect}"
    body = _body(response)
    shown = [secret for secret in NORDHEIM_SECRETS if secret in body and not any(secret in e for e in probe.echoes)]
    if shown:
        return f"{probe.method.upper()} {probe.url}: shows {shown}"
    return None


def test_staff_of_one_municipality_see_nothing_of_another(client, towns):
    """Every role of Musterstadt, and a colleague with admin access, walks every pattern with Nordheim's ids."""
    unknown = [
        route.route for route in every_route() if exemption(route) is None and probes_for(route, towns.b) is None
    ]
    assert not unknown, (
        "URL patterns the tenancy walk does not know; teach tests/test_tenancy.py how to walk them "
        f"(probes_for) or list them in EXEMPT with a reason: {unknown}"
    )
    applications = [app.pk for app in towns.b.applications.values()]
    states = dict(GrantApplication.objects.filter(pk__in=applications).values_list("pk", "state"))
    problems = []
    for role in [*ROLES, "admin"]:
        client.force_login(towns.a.staff[role])
        walked = 0
        for route in every_route():
            if exemption(route) is not None or (route.route.startswith("admin/") and role not in ADMIN_WALKERS):
                continue
            for probe in probes_for(route, towns.b) or []:
                walked += 1
                if problem := _problem(client, probe):
                    problems.append(f"{role}: {problem}")
        assert walked > 100
    assert not problems, "Musterstadt's staff reach Nordheim:\n" + "\n".join(problems)
    # Nothing of Nordheim's changed under the POSTs of the walk.
    assert dict(GrantApplication.objects.filter(pk__in=applications).values_list("pk", "state")) == states
    assert list(LetterTemplate.objects.filter(municipality=towns.b.municipality)) == [towns.b.template]
    assert not InternalNote.objects.filter(text="Fremder Vermerk").exists()
    assert list(StateNotice.objects.filter(municipality=towns.b.municipality)) == [towns.b.notice]
    assert list(towns.b.notice.drawdowns.all()) == [towns.b.drawdown] and not towns.b.drawdown.receipts.exists()


def test_musterstadt_sees_its_own_cases_and_cannot_pull_in_nordheims(client, towns):
    """The walk would pass on empty pages too: staff of Musterstadt do see their own cases in the same places.
    And they cannot reach Nordheim's things through their own cases."""
    client.force_login(towns.a.staff["auditor"])
    file_number = towns.a.approved.file_number
    assert file_number in client.get(reverse("workspace:applications")).content.decode()
    assert f"{towns.a.approved.pk}" in client.get(reverse("application-list")).content.decode()
    export = client.get(reverse("workspace:applications") + "?format=xlsx")
    rows = list(load_workbook(io.BytesIO(export.content), read_only=True).active.iter_rows(values_only=True))
    numbers = {value for row in rows for value in row if isinstance(value, str) and value[:3] in ("FP-", "NH-")}
    assert numbers == {app.file_number for app in towns.a.applications.values() if app.file_number}
    client.force_login(towns.a.staff["admin"])
    changelist = client.get("/admin/grants/grantapplication/").content.decode()
    assert file_number in changelist and "Musterstadt" in changelist

    client.force_login(towns.a.staff["caseworker"])
    draft = towns.a.applications["draft"]
    response = client.post(
        reverse("workspace:link_consultation", args=[draft.pk]), {"consultation": towns.b.consultation.pk}
    )
    assert response.status_code in (404, 409)
    draft.refresh_from_db()
    assert draft.consultation_id != towns.b.consultation.pk

    b = towns.b
    document = Document.objects.get(pk=b.document.pk)
    for url in (
        reverse("workspace:document", args=[document.pk]),
        reverse("portal:document", args=[document.pk]),
        reverse("application-document-file", kwargs={"application_pk": b.approved.pk, "pk": document.pk}),
        reverse("application-document-file", kwargs={"application_pk": towns.a.approved.pk, "pk": document.pk}),
        reverse("letter-download", args=[b.letter.pk]),
        reverse("workspace:statement_xlsx", args=[b.statement.pk]),
        reverse("statement-workbook", args=[b.statement.pk]),
    ):
        assert client.get(url).status_code in (403, 404), url


def test_a_superuser_still_sees_every_town_in_the_admin(client, towns):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(superuser)
    changelist = client.get("/admin/grants/grantapplication/").content.decode()
    assert towns.a.approved.file_number in changelist and towns.b.approved.file_number in changelist
    assert client.get(f"/admin/grants/programme/{towns.b.programme.pk}/change/").status_code == 200
