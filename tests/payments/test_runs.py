"""Payment runs: gathered by finance, the pain.001 valid against its XSD with the run's count and control sum,
ordered by a second person, executed, a transfer returned; never one payment in two runs."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
import xmlschema
from django.core import mail
from lxml import etree
from pypdf import PdfReader

from core.errors import DomainError
from payments import sepa, services
from payments.models import PaymentItem, PaymentRun

pytestmark = pytest.mark.django_db


def next_workday(days: int = 1) -> date:
    day = date.today() + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@pytest.fixture
def account(musterstadt):
    musterstadt.debtor_name = "Stadtkasse Musterstadt"
    musterstadt.debtor_iban = "DE02120300000000202051"
    musterstadt.debtor_bic = "BYLADEM1001"
    musterstadt.save()
    return musterstadt


def build(people, **kwargs):
    return services.run_create(by=kwargs.pop("by", people.finance), value_date=kwargs.pop("on", next_workday()))


def xsd(schema: str):
    import os

    import sepaxml

    return xmlschema.XMLSchema(os.path.join(os.path.dirname(sepaxml.__file__), "schemas", f"{schema}.xsd"))


@pytest.mark.parametrize("schema", ["pain.001.001.09", "pain.001.001.03"])
def test_the_file_validates_and_states_the_runs_count_and_control_sum(schema, case, people, account):
    account.sepa_schema = schema
    account.save()
    first, second = case("paid"), case("paid", area="90")
    run = build(people)
    assert (run.count, run.schema) == (2, schema)
    assert run.total == first.paid_amount + second.paid_amount
    content = sepa.pain001(run)
    xsd(schema).validate(content.decode())
    tree = etree.fromstring(content)
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{schema}"}
    assert tree.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=ns) == "2"
    assert Decimal(tree.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns)) == run.total
    assert tree.findtext(".//p:GrpHdr/p:MsgId", namespaces=ns) == run.message_id
    ends = tree.findall(".//p:EndToEndId", namespaces=ns)
    assert sorted(e.text for e in ends) == sorted(run.items.values_list("end_to_end_id", flat=True))
    assert first.file_number in content.decode()  # in the remittance text


def test_a_payment_is_in_one_run_only(case, people, account):
    case("paid")
    build(people)
    with pytest.raises(DomainError) as refused:
        build(people)
    assert refused.value.status == 409 and "keine freigegebenen Zahlungen" in str(refused.value)
    assert PaymentItem.objects.count() == 1


def test_a_run_with_a_wrong_iban_is_refused_naming_the_case_and_nothing_is_written(case, people, account):
    good, bad = case("paid"), case("paid", area="90")
    applicant = bad.applicant
    type(applicant).objects.filter(pk=applicant.pk).update(iban="DE89370400440532013001")  # a typo
    # The same applicant holds both cases here: both are named.
    with pytest.raises(DomainError) as refused:
        build(people)
    assert refused.value.status == 409
    assert good.file_number in str(refused.value) and bad.file_number in str(refused.value)
    assert not PaymentRun.objects.exists() and not PaymentItem.objects.exists()


def test_without_the_municipalitys_account_no_run(case, people, musterstadt):
    case("paid")
    with pytest.raises(DomainError) as refused:
        build(people)
    assert refused.value.status == 409 and "Konto" in str(refused.value)


@pytest.mark.parametrize("role", ["caseworker", "approver", "auditor", "owner"])
def test_only_finance_builds_and_orders_runs(role, case, people, account):
    case("paid")
    with pytest.raises(DomainError) as refused:
        build(people, by=getattr(people, role))
    assert refused.value.status in (403, 404)
    assert not PaymentRun.objects.exists()


def test_the_order_is_given_by_someone_who_did_not_certify_the_invoices_then_executed_and_owners_told(
    case, people, account, django_capture_on_commit_callbacks
):
    application = case("paid")
    run = build(people)
    # The same person as certifier and orderer: refused.
    type(application).objects.filter(pk=application.pk).update(invoices_certified_by=people.finance)
    with pytest.raises(DomainError) as refused:
        services.run_order(by=people.finance, run_id=run.pk)
    assert refused.value.status == 403
    type(application).objects.filter(pk=application.pk).update(invoices_certified_by=people.caseworker)
    with pytest.raises(DomainError):
        services.run_execute(by=people.finance, run_id=run.pk, executed_on=date.today())  # not ordered yet
    services.run_order(by=people.finance, run_id=run.pk)
    with pytest.raises(DomainError):
        services.run_order(by=people.finance, run_id=run.pk)  # twice
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.run_execute(by=people.finance, run_id=run.pk, executed_on=date.today())
    (message,) = mail.outbox
    assert application.file_number in message.subject and "•• 3000" in message.body
    assert "DE89370400440532013000" not in message.body


def test_a_returned_transfer_frees_the_payment_for_a_later_run(case, people, account):
    application = case("paid")
    run = build(people)
    services.run_order(by=people.finance, run_id=run.pk)
    (item,) = run.items.all()
    with pytest.raises(DomainError):
        services.item_return(by=people.finance, run_id=run.pk, item_id=item.pk, returned_on=date.today(), reason="x")
    services.run_execute(by=people.finance, run_id=run.pk, executed_on=date.today())
    with pytest.raises(DomainError) as refused:
        services.item_return(by=people.finance, run_id=run.pk, item_id=item.pk, returned_on=date.today(), reason="")
    assert refused.value.status == 400
    services.item_return(
        by=people.finance, run_id=run.pk, item_id=item.pk, returned_on=date.today(), reason="Konto erloschen"
    )
    applicant = application.applicant
    applicant.iban = "DE02500105170137075030"  # corrected
    applicant.save()
    again = build(people)
    (new_item,) = again.items.all()
    assert new_item.entry_id == item.entry_id and new_item.iban == "DE02500105170137075030"


def test_another_towns_finance_sees_no_run(case, people, account):
    from tests.factories import MunicipalityFactory, UserFactory

    case("paid")
    run = build(people)
    other = UserFactory(username="fremd", roles=["finance"], municipalities=[MunicipalityFactory(name="Nordheim")])
    assert not services.visible_runs(other).exists()
    with pytest.raises(DomainError) as refused:
        services.run_order(by=other, run_id=run.pk)
    assert refused.value.status == 404


# --- the doors: workspace and API ---------------------------------------------------------------------------


def web(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def api(user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_finance_builds_orders_and_records_a_run_in_the_workspace(case, people, account):
    from django.urls import reverse

    application = case("paid")
    runs = reverse("workspace:payment_runs")
    page = web(people.finance).get(runs)
    assert page.status_code == 200 and "1 freigegebene Zahlung wartet" in page.content.decode()
    assert web(people.caseworker).get(runs).status_code == 403
    assert web(people.finance).post(runs, {"value_date": "01.01.2020"}).status_code == 409  # in the past
    done = web(people.finance).post(runs, {"value_date": next_workday().strftime("%d.%m.%Y")})
    run = PaymentRun.objects.get()
    assert done.status_code == 302 and done.url == reverse("workspace:payment_run", args=[run.pk])
    detail = web(people.finance).get(done.url).content.decode()
    assert application.file_number in detail and "DE89370400440532013000" in detail
    audited = web(people.auditor).get(done.url).content.decode()
    assert "DE89370400440532013000" not in audited and "anordnen" not in audited  # reads, masked, no buttons
    xml = web(people.finance).get(reverse("workspace:payment_run_xml", args=[run.pk]))
    assert xml.status_code == 200 and xml["Content-Type"] == "application/xml"
    xsd(run.schema).validate(xml.content.decode())
    xlsx = web(people.finance).get(reverse("workspace:payment_run_xlsx", args=[run.pk]))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert web(people.finance).post(reverse("workspace:payment_run_order", args=[run.pk])).status_code == 302
    order = web(people.finance).get(reverse("workspace:payment_run_pdf", args=[run.pk]))
    text = " ".join(page.extract_text() for page in PdfReader(BytesIO(order.content)).pages)
    assert "Auszahlungsanordnung" in text and application.file_number in text
    assert "sachlich richtig" in text and people.caseworker.username in text and people.finance.username in text
    executed = reverse("workspace:payment_run_executed", args=[run.pk])
    assert web(people.finance).post(executed, {"executed_on": ""}).status_code == 400
    assert web(people.finance).post(executed, {"executed_on": date.today().strftime("%d.%m.%Y")}).status_code == 302
    run.refresh_from_db()
    assert run.status == PaymentRun.Status.EXECUTED and run.executed_on == date.today()
    (item,) = run.items.all()
    back = reverse("workspace:payment_item_returned", args=[run.pk, item.pk])
    assert (
        web(people.finance)
        .post(back, {"returned_on": date.today().strftime("%d.%m.%Y"), "reason": "Konto erloschen"})
        .status_code
        == 302
    )  # noqa: E501
    item.refresh_from_db()
    assert item.returned_on == date.today()


def test_the_api_builds_orders_executes_and_serves_the_file(case, people, account):
    case("paid")
    body = {"value_date": str(next_workday())}
    assert api(people.caseworker).post("/api/payment-runs/", body, format="json").status_code == 403
    created = api(people.finance).post("/api/payment-runs/", body, format="json")
    assert created.status_code == 201 and created.json()["count"] == 1
    run_id = created.json()["id"]
    again = api(people.finance).post("/api/payment-runs/", body, format="json")
    assert again.status_code == 409 and again.json()["reasons"]
    xml = api(people.finance).get(f"/api/payment-runs/{run_id}/sepa/")
    assert xml.status_code == 200
    xsd("pain.001.001.09").validate(xml.content.decode())
    assert api(people.caseworker).post(f"/api/payment-runs/{run_id}/order/").status_code == 403
    assert api(people.finance).post(f"/api/payment-runs/{run_id}/order/").json()["status"] == "ordered"
    assert api(people.finance).post(f"/api/payment-runs/{run_id}/order/").status_code == 409
    executed = api(people.finance).post(
        f"/api/payment-runs/{run_id}/execute/", {"executed_on": str(date.today())}, format="json"
    )
    assert executed.status_code == 200 and executed.json()["status"] == "executed"
    assert api(people.auditor).get("/api/payment-runs/").json()["count"] == 1
    assert api(people.owner).get("/api/payment-runs/").status_code == 403


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_finance_users_building_runs_at_once_never_put_a_payment_in_both(case, people, account):
    import threading

    from django.db import connection

    from tests.factories import UserFactory

    for area in ("100", "110", "120"):
        case("paid", area=area)
    second = UserFactory(username="kasse2", roles=["finance"], municipalities=[account])
    start = threading.Barrier(2, timeout=60)
    outcomes = []

    def build_as(user):
        try:
            start.wait()
            services.run_create(by=user, value_date=next_workday())
            outcomes.append("done")
        except DomainError as refused:
            outcomes.append(str(refused.status))
        finally:
            connection.close()

    threads = [threading.Thread(target=build_as, args=(u,)) for u in (people.finance, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["409", "done"]  # the second finds nothing left
    assert PaymentItem.objects.count() == 3 and PaymentRun.objects.count() == 1
    assert PaymentItem.objects.values("entry").distinct().count() == 3


def test_the_auditor_reads_runs_through_the_api_with_ibans_masked(case, people, account):
    case("paid")
    run = build(people)
    seen = api(people.auditor).get(f"/api/payment-runs/{run.pk}/").json()
    assert seen["items"][0]["iban"] == "DE•• •••• •••• •••• •• 3000"
    assert (
        api(people.finance).get(f"/api/payment-runs/{run.pk}/").json()["items"][0]["iban"] == "DE89370400440532013000"
    )
    assert api(people.auditor).post(f"/api/payment-runs/{run.pk}/order/").status_code == 403


class Injected(RuntimeError):
    pass


@pytest.mark.parametrize("fault", ["run row", "transfers", "order save"])
def test_a_fault_inside_a_run_leaves_nothing_behind_and_the_retry_goes_through(fault, case, people, account):
    from unittest import mock

    case("paid")
    if fault == "order save":
        run = build(people)
        with mock.patch.object(PaymentRun, "save", side_effect=Injected("save")), pytest.raises(Injected):
            services.run_order(by=people.finance, run_id=run.pk)
        run.refresh_from_db()
        assert run.status == PaymentRun.Status.DRAFT and run.ordered_by is None
        assert services.run_order(by=people.finance, run_id=run.pk).status == PaymentRun.Status.ORDERED
        return
    target = (PaymentRun.objects, "create") if fault == "run row" else (PaymentItem.objects, "bulk_create")
    with mock.patch.object(*target, side_effect=Injected(fault)), pytest.raises(Injected):
        build(people)
    assert not PaymentRun.objects.exists() and not PaymentItem.objects.exists()
    assert build(people).count == 1


def test_the_lists_cost_the_same_queries_for_one_run_and_for_five(case, people, account, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    def runs(n):
        for _ in range(n):
            case("paid", area=str(100 + PaymentRun.objects.count()))
            build(people)

    runs(1)
    client, web_client = api(people.finance), web(people.finance)
    client.get("/api/payment-runs/")
    web_client.get(reverse("workspace:payment_runs"))
    with CaptureQueriesContext(connection) as one_api:
        client.get("/api/payment-runs/")
    with CaptureQueriesContext(connection) as one_web:
        web_client.get(reverse("workspace:payment_runs"))
    runs(4)
    with django_assert_num_queries(len(one_api.captured_queries)):
        assert client.get("/api/payment-runs/").json()["count"] == 5
    with django_assert_num_queries(len(one_web.captured_queries)):
        web_client.get(reverse("workspace:payment_runs"))


# Who may do what on a run of their own town: finance everything, the auditor reads, everyone else nothing.
READS = ["payment_run", "payment_run_xml", "payment_run_xlsx", "payment_run_pdf"]
ROLES = {"finance": (200, 302), "auditor": (200, 403), "caseworker": (403, 403), "approver": (403, 403),
         "owner": (403, 403)}  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_every_page_and_endpoint_of_a_run_by_role(role, case, people, account):
    from django.urls import reverse

    case("paid")
    run = build(people)
    read, order = ROLES[role]
    user = getattr(people, role)
    for name in READS:
        assert web(user).get(reverse(f"workspace:{name}", args=[run.pk])).status_code == read, name
    assert web(user).get(reverse("workspace:payment_runs")).status_code == read
    # An owner belongs to no town: the run is not found for them (404), as another town's is for staff.
    for path in ("", "sepa/", "workbook/"):
        assert api(user).get(f"/api/payment-runs/{run.pk}/{path}").status_code == (404 if role == "owner" else read)
    assert api(user).get("/api/payment-runs/").status_code == read
    assert web(user).post(reverse("workspace:payment_run_order", args=[run.pk])).status_code == order
    run.refresh_from_db()
    assert run.status == ("ordered" if role == "finance" else "draft")
    executed = {"executed_on": date.today().strftime("%d.%m.%Y")}
    expected = 302 if role == "finance" else 403
    assert web(user).post(reverse("workspace:payment_run_executed", args=[run.pk]), executed).status_code == expected


def test_finance_of_two_towns_chooses_the_town_of_the_run(case, people, account):
    from django.urls import reverse

    from tests.factories import MunicipalityFactory

    case("paid")
    other = MunicipalityFactory(name="Nordheim")
    other.staff.add(people.finance)
    people.finance.__dict__.pop("municipality_ids", None)
    with pytest.raises(DomainError) as refused:
        build(people)
    assert refused.value.status == 400 and "Kommune" in str(refused.value)
    page = web(people.finance).get(reverse("workspace:payment_runs")).content.decode()
    assert "Nordheim" in page and "Musterstadt" in page
    done = web(people.finance).post(
        reverse("workspace:payment_runs"),
        {"value_date": next_workday().strftime("%d.%m.%Y"), "municipality": account.pk},
    )
    assert done.status_code == 302 and PaymentRun.objects.get().municipality == account
