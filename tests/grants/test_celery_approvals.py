"""Two real Celery workers on the real Redis and PostgreSQL approve a batch against one allocation: no euro twice.

The batch approval (``POST /api/applications/approve-batch/``) queues one ``grants.tasks.approve_application``
per case; two worker processes of four threads each take them at the same time, and each approval locks
the allocation row. The threads make approvals overlap often enough that without that lock this test
over-commits (16 approved instead of 13, tried).
"""

import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from budgets.models import LedgerEntry
from budgets.selectors import allocation_balance
from config.celery import app as celery_app
from grants.models import GrantApplication, InternalNote

from ..factories import AllocationFactory, ApplicantFactory, advance, make_application

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# A Redis database of this test's own, apart from the other real-worker test (db 15). Every checkout's test run
# (and each xdist process) on this machine shares it: this one's queues and workers carry a token of their own,
# and only its own keys are deleted, never the whole database.
BROKER = "redis://127.0.0.1:6379/14"
RUN = uuid.uuid4().hex[:12]
QUEUE = f"foerderdesk-approvals-{RUN}"
UNREAD = f"foerderdesk-unread-{RUN}"
CASES = 20
GRANT = Decimal("7200.00")
ALLOCATION = Decimal("100000.00")  # carries 13 grants of 7,200 € (93,600 €) and leaves 6,400 €


@pytest.fixture
def broker():
    client = redis.Redis.from_url(BROKER)
    client.ping()  # no Redis is a failure here, not a skip: CI starts it
    keys = ("broker_url", "task_always_eager", "task_routes")
    previous = {key: celery_app.conf[key] for key in keys}
    # Only the approvals go to the workers' queue; letters and e-mails of the setup wait unread in a queue of their own.
    configure(
        broker_url=BROKER,
        task_always_eager=False,
        task_routes={"grants.tasks.approve_application": QUEUE, "*": UNREAD},
    )
    yield client
    configure(**previous)
    for key in client.scan_iter(match=f"*{RUN}*"):
        client.delete(key)


def configure(**conf):
    celery_app.conf.update(**conf)
    celery_app._pool = None  # drop a producer pool opened on memory:// by an earlier test
    celery_app.amqp._producer_pool = None


@pytest.fixture
def two_workers(broker, tmp_path):
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": BROKER,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    logs, processes = [], []
    for number in (1, 2):
        log = tmp_path / f"worker{number}.log"
        logs.append(log)
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=threads", "--concurrency=4",
                 "--loglevel=INFO", f"--hostname=approvals{number}-{RUN}@%h", f"--queues={QUEUE}",
                 "--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=settings.BASE_DIR, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
    yield logs
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=30)


def wait_for(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


def test_two_workers_approve_a_batch_without_booking_a_euro_twice(programme, people, two_workers):
    allocation = AllocationFactory(programme=programme, amount=ALLOCATION)
    cases = [
        advance(make_application(programme=programme, applicant=ApplicantFactory()), "checked", people)
        for _ in range(CASES)
    ]
    assert {c.computed_grant for c in cases} == {GRANT}
    # Both workers take tasks from the start, so they really compete for the allocation.
    assert wait_for(lambda: all("ready." in log.read_text() for log in two_workers)), [
        log.read_text() for log in two_workers
    ]

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=people.approver).key}")
    response = api.post(
        "/api/applications/approve-batch/", {"applications": [c.pk for c in cases], "comment": "Stapel"}, format="json"
    )
    assert response.status_code == 202, response.content
    assert response.json() == {"queued": [c.pk for c in cases], "refused": []}

    ids = [c.pk for c in cases]

    def decided() -> int:
        approved = GrantApplication.objects.filter(pk__in=ids, state="approved").count()
        noted = InternalNote.objects.filter(application__in=ids).values("application").distinct().count()
        return approved + noted

    done = wait_for(lambda: decided() == CASES)
    worker_logs = [log.read_text() for log in two_workers]
    assert done, worker_logs
    for log in worker_logs:  # each worker approved or refused some of the batch
        assert "grants.tasks.approve_application" in log and "succeeded" in log, log

    carried = int(ALLOCATION // GRANT)
    approved = GrantApplication.objects.filter(pk__in=ids, state="approved")
    refused = GrantApplication.objects.filter(pk__in=ids).exclude(state="approved")
    assert approved.count() == carried == 13
    # The waiting list's order holds across two workers: the thirteen checked first are the ones approved.
    in_order = list(
        GrantApplication.objects.filter(pk__in=ids).order_by("checked_at", "pk").values_list("pk", flat=True)
    )
    assert set(approved.values_list("pk", flat=True)) == set(in_order[:carried])
    assert set(refused.values_list("state", flat=True)) == {"checked"}

    balance = allocation_balance(allocation)
    assert balance.committed == carried * GRANT == Decimal("93600.00")
    assert balance.available == ALLOCATION - carried * GRANT
    running = Decimal("0.00")
    for entry in allocation.entries.order_by("pk"):  # never more committed than the allocation, at any moment
        assert entry.kind == LedgerEntry.Kind.COMMITMENT
        running += entry.amount
        assert running <= ALLOCATION
    booked = list(LedgerEntry.objects.filter(application__in=ids).values_list("application", flat=True))
    assert sorted(booked) == sorted(approved.values_list("pk", flat=True))  # each approved case booked once

    for application in refused:
        note = InternalNote.objects.get(application=application)
        # Refused because the money is spent, or because the cases checked before it take the rest (waiting list).
        reason = note.text.removeprefix("Bewilligung im Stapel nicht möglich: ")
        assert reason != note.text and note.author == people.approver
        assert (reason.startswith("Die Mittelausstattung") and "reicht nicht" in reason) or reason.startswith(
            "Warteliste"
        )
    for application in approved:
        assert not InternalNote.objects.filter(application=application).exists()
