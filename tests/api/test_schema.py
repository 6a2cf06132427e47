"""The OpenAPI schema is served, documents every error, and the API keeps to it under generated requests.

schemathesis generates requests for every operation from /api/schema/ and sends them to the
WSGI app in-process, as a caseworker and as an owner of the Musterstadt demo data, and runs all
its checks on every answer: no 5xx; a documented status, content type and headers; a body that
matches its schema; every request the schema allows accepted (2xx, or 401/403/404/409) and every
request it forbids refused (4xx); authentication not ignored; what is deleted or refused stays so.
Every failure of the run is listed at once, one per operation and kind.
"""

from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.checks import Failure, FailureGroup, load_all_checks
from schemathesis.openapi.checks import RejectedPositiveData

from applicants.models import Applicant, Property, User
from budgets.models import Allocation, LedgerEntry, Statement
from grants.demo import load_demo_data
from grants.models import Document, GrantApplication, Programme
from payments.models import PaymentRun
from reports.generation import statement_generate
from reports.services import statement_request
from tests.factories import make_deminimis_grant

load_all_checks()
CHECKS = list(REGISTERED_CHECKS.get_all())  # every check schemathesis has, as `--checks all` runs them


def test_the_schema_and_the_docs_are_served(client):
    schema = client.get("/api/schema/?format=json").json()
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    # Swagger UI comes from our static files, not from a CDN the server may not reach.
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs.content.decode()
    assert "cdn.jsdelivr" not in docs.content.decode()

    operations = [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()]
    assert len(operations) >= 25
    for path, method, operation in operations:
        documented = set(operation["responses"])
        assert {"401", "403", "404"} <= documented, (path, method)
        for status in documented - {"200", "201", "202"}:
            error = operation["responses"][status]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Error"}, (path, method, status)
    approve = schema["paths"]["/api/applications/{id}/approve/"]["post"]
    assert "409" in approve["responses"] and "comment" in str(schema["components"]["schemas"]["TransitionRequest"])


@pytest.fixture
def demo(db, settings):
    settings.ALLOWED_HOSTS = ["*"]  # schemathesis' WSGI client calls the app as "localhost"
    # The raw WSGI app would close the test's connection after each request (inside the test
    # transaction on PostgreSQL); Django's own test client switches this off the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    load_demo_data()
    caseworker = User.objects.get(username="sachbearbeitung")
    facade = Programme.objects.get(code="FP")
    statement = statement_request(by=caseworker, programme_id=facade.pk, year=timezone.localdate().year)
    statement_generate(statement_id=statement.pk)
    models = {
        "applications": GrantApplication,
        "documents": Document,
        "programmes": Programme,
        "allocations": Allocation,
        "ledger": LedgerEntry,
        "applicants": Applicant,
        "properties": Property,
        "statements": Statement,
        "payment-runs": PaymentRun,
    }
    # One de-minimis grant to the demo's owner, so the register's entries are reached too.
    owner = Applicant.objects.filter(user__username="eigentuemerin").first()
    grant = make_deminimis_grant(facade, owner, on=timezone.localdate(), amount="4000.00", number=901)
    Property.objects.filter(pk=grant.property_id).update(registered_by=owner)  # the owner's, as the demo's are
    rows = {name: list(model.objects.order_by("pk").values_list("pk", flat=True)) for name, model in models.items()}
    # The register's entries are the de-minimis cases granted (the demo's facade grants are none: an empty pool).
    rows["deminimis-register"] = list(
        GrantApplication.objects.exclude(deminimis_regulation="")
        .filter(approved_at__isnull=False)
        .values_list("pk", flat=True)
    )
    yield rows
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def point_at_real_rows(case, demo):
    """Half the generated ids are mapped onto demo rows, so the run reaches 200s and not only 404s."""
    parameters = case.path_parameters or {}
    resource = case.path.split("/")[2]  # /api/<resource>/...
    for name in ("id", "application_pk"):
        value = parameters.get(name)
        if value is not None and str(value).isdigit() and int(value) % 2 == 0:
            pool = demo["applications"] if name == "application_pk" else demo[resource]
            if name == "id" and "/documents/" in case.path:
                pool = demo["documents"]
            if pool:  # the demo has no payment run
                parameters[name] = str(pool[int(value) // 2 % len(pool)])


EXAMPLES_PER_OPERATION = 10

# The 400s no schema can state, by the input fields they name: a referenced row that does not exist
# or is not the caller's, a file judged by its content, credentials; an IBAN's checksum; the range of
# an amount sent as a decimal string, and VAT above the net amount. A 400 naming any other field is a
# constraint the schema must state, and fails the test.
UNSTATABLE = {
    "POST /api/applications/": {"programme", "applicant", "property"},
    "POST /api/properties/": {"registered_by"},
    "POST /api/applications/{application_pk}/documents/": {"file"},
    "POST /api/auth/token/": {"non_field_errors", "otp"},
    # The same kind of measure twice in a change request.
    "POST /api/applications/{id}/request-change/": {"components"},
}
UNSTATABLE_ANYWHERE = {
    "iban", "area_m2", "net_amount", "vat_amount", "amount", "intended_amount", "revoked_amount", "late_use_amount",
}  # fmt: skip


def _leaves(fields, name="") -> set[str]:
    """The innermost field names of a nested error ({"components": {"0": {"area_m2": [...]}}} → area_m2)."""
    if isinstance(fields, dict):
        return {leaf for key, value in fields.items() for leaf in _leaves(value, name if key.isdigit() else key)}
    if isinstance(fields, list) and fields and all(isinstance(f, dict) for f in fields):
        return {leaf for value in fields for leaf in _leaves(value, name)}
    return {name}


def refused_for_what_no_schema_states(case, response, failure) -> bool:
    if not isinstance(failure, RejectedPositiveData) or response.status_code != 400:
        return False
    named = _leaves(response.json().get("fields", {}))
    return bool(named) and named <= UNSTATABLE.get(case.operation.label, set()) | UNSTATABLE_ANYWHERE


@pytest.mark.parametrize("username", ["sachbearbeitung", "eigentuemerin"], ids=["as-caseworker", "as-owner"])
def test_the_api_keeps_to_its_schema(username, demo):
    api_schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    token = Token.objects.get_or_create(user=User.objects.get(username=username))[0].key
    seen = {"cases": 0, "operations": 0, "statuses": Counter()}
    failures: dict[tuple[str, str], str] = {}

    for result in api_schema.get_all_operations():
        operation = result.ok()
        seen["operations"] += 1

        # Valid requests and, as often, requests that break the schema (bad ids, filters, bodies).
        @given(case=st.one_of(operation.as_strategy(), operation.as_strategy(GenerationMode.NEGATIVE)))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            point_at_real_rows(case, demo)
            headers = {"Authorization": f"Token {token}"}
            response = case.call(headers=headers)
            seen["cases"] += 1
            seen["statuses"][response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (Failure, FailureGroup) as failed:
                for failure in failed.exceptions if isinstance(failed, FailureGroup) else [failed]:
                    if refused_for_what_no_schema_states(case, response, failure):
                        continue
                    failures.setdefault(
                        (case.operation.label, failure.title),
                        f"{failure}\n    {response.status_code} {response.text[:300]}\n"
                        f"    {case.as_curl_command(headers=headers)}",
                    )

        check()

    print(f"{username}: {seen['cases']} cases over {seen['operations']} operations, statuses {dict(seen['statuses'])}")
    assert not failures, "\n\n".join(f"{label} — {title}:\n{text}" for (label, title), text in sorted(failures.items()))
    assert seen["operations"] >= 25
    assert seen["cases"] >= 250  # a few hundred cases per persona
    assert seen["statuses"][200] >= 30  # real data was reached, not only errors
