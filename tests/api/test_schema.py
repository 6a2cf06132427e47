"""The OpenAPI schema is served, documents every error, and the API keeps to it under generated requests.

schemathesis generates requests for every operation from /api/schema/ and sends them to the
WSGI app in-process, as a caseworker and as an owner of the Musterstadt demo data; every
response must be no 5xx, have a documented status and content type, and match its schema.
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
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from applicants.models import Applicant, Property, User
from budgets.models import Allocation, LedgerEntry, Statement
from grants.demo import load_demo_data
from grants.models import Document, GrantApplication, Programme
from reports.generation import statement_generate
from reports.services import statement_request

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


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
    }
    yield {name: list(model.objects.order_by("pk").values_list("pk", flat=True)) for name, model in models.items()}
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
            parameters[name] = str(pool[int(value) // 2 % len(pool)])


EXAMPLES_PER_OPERATION = 10


@pytest.mark.parametrize("username", ["sachbearbeitung", "eigentuemerin"], ids=["as-caseworker", "as-owner"])
def test_the_api_keeps_to_its_schema(username, demo):
    api_schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    token = Token.objects.get_or_create(user=User.objects.get(username=username))[0].key
    seen = {"cases": 0, "operations": 0, "statuses": Counter()}

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
            response = case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
            seen["cases"] += 1
            seen["statuses"][response.status_code] += 1

        check()

    print(f"{username}: {seen['cases']} cases over {seen['operations']} operations, statuses {dict(seen['statuses'])}")
    assert seen["operations"] >= 25
    assert seen["cases"] >= 250  # a few hundred cases per persona
    assert seen["statuses"][200] >= 30  # real data was reached, not only errors
