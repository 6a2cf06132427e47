"""The benchmark (make bench) at its smallest scale, so that it cannot rot: it runs and reports every figure."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

from benchmarks.run import FIGURE_IDS

pytestmark = pytest.mark.bench


def test_the_smoke_run_of_the_benchmark_reports_every_figure(tmp_path):
    output = tmp_path / "bench-results.json"
    # A database of its own, never the one the tests run on; on PostgreSQL when DATABASE_URL says so.
    on_postgresql = "postgres" in os.environ.get("DATABASE_URL", "")
    database = f"foerderdesk_benchsmoke_{os.getpid()}" if on_postgresql else str(tmp_path / "bench.sqlite3")
    completed = subprocess.run(
        [sys.executable, "manage.py", "bench", "--scale", "smoke", "--output", str(output)]
        + ["--database-name", database],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads(output.read_text())
    figures = {f["id"]: f for f in results["figures"]}
    assert set(figures) == set(FIGURE_IDS)
    for figure in figures.values():
        if figure["status"] == "skipped":
            assert figure["note"], figure["id"]  # a reason in words, never a made-up number
            assert figure["value"] is None
        else:
            assert figure["floor"] > 0 and figure["value"] > 0 and figure["ratio"] > 0, figure["id"]
    assert results["machine"]["database"] == ("postgresql" if on_postgresql else "sqlite")
    submit = figures["submit_over_http"]["details"]
    assert submit["submitted_drafts"] == submit["drafts"]  # each draft once, none refused
    assert all(r["submit"]["errors"] == 0 and r["floor"]["errors"] == 0 for r in submit["rounds"])
    assert completed.stdout.count("| ") > len(FIGURE_IDS)  # the table
    # The kept ledger totals agree with the entries after all the benchmark's bookings.
    assert results["ledger_reconcile"]["differences"] == 0 and results["ledger_reconcile"]["allocations"] >= 3
