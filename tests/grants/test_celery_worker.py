"""A real Celery worker process on the real Redis and PostgreSQL makes the letters and sends the e-mails."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings

from config.celery import app as celery_app
from grants.models import GrantApplication, LetterKind, OutboundEmail

from ..factories import advance, make_application

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BROKER = "redis://127.0.0.1:6379/15"
# Every checkout's test run (and each xdist process) on this machine shares that Redis: this one's tasks go to a
# queue of its own, taken by a worker of its own, and only its own keys are deleted, never the whole database.
RUN = uuid.uuid4().hex[:12]
QUEUE = f"foerderdesk-test-{RUN}"


@pytest.fixture
def redis_broker():
    client = redis.Redis.from_url(BROKER)
    client.ping()  # no Redis is a failure here, not a skip: CI starts it
    keys = ("broker_url", "task_always_eager", "task_routes")
    previous = {key: celery_app.conf[key] for key in keys}
    use_broker(broker_url=BROKER, task_always_eager=False, task_routes={"*": QUEUE})
    yield client
    use_broker(**previous)
    for key in client.scan_iter(match=f"*{RUN}*"):
        client.delete(key)


def use_broker(**conf):
    celery_app.conf.update(**conf)
    # An earlier inline retry may have opened the producer pool on memory://; drop it as a fork would.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def worker(redis_broker, tmp_path):
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": BROKER,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mails"),
    }
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO",
         f"--hostname=letters-{RUN}@%h", f"--queues={QUEUE}",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    yield tmp_path
    process.terminate()
    process.wait(timeout=30)
    log.close()


def wait_for(condition, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def test_a_real_worker_makes_the_letters_and_sends_the_emails_of_an_approval(programme, allocation, people, worker):
    application = make_application(programme=programme, applicant=people.alice)
    advance(application, GrantApplication.State.APPROVED, people)  # each commit queues a task on Redis

    made = wait_for(
        lambda: (
            application.letters.filter(kind=LetterKind.APPROVAL).exists()
            and OutboundEmail.objects.filter(application=application, sent_at__isnull=False).count() == 3
        )
    )
    worker_log = (worker / "worker.log").read_text()
    assert made, worker_log
    assert "succeeded" in worker_log
    assert sorted(application.letters.values_list("kind", flat=True)) == ["approval", "receipt"]
    mails = "".join(p.read_text(errors="replace") for p in Path(worker / "mails").iterdir())
    assert f"Ihr Antrag {GrantApplication.objects.get(pk=application.pk).file_number}: bewilligt" in mails
