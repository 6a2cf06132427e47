"""One benchmark run: a database of its own, the figures in order, a table and a JSON file."""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import django
from django.db import connection
from django.test.utils import override_settings

from budgets import totals
from budgets.models import Allocation

from . import data
from .figures import SCALES, Figure, budget_figures, letter_figure, list_figures, statement_figures, submit_figure

FIGURE_IDS = (
    "application_list_page",
    "application_list_api",
    "budget_balance_by_share_in_large_ledger",
    "budget_balance_by_share",
    "budget_dashboard_page_in_large_ledger",
    "budget_dashboard_page",
    "budget_api_balance_in_large_ledger",
    "budget_api_balance",
    "budget_ledger_newest_api_in_large_ledger",
    "budget_ledger_newest_api",
    "budget_commit_check_in_large_ledger",
    "budget_commit_check",
    "approval_notice_pdf",
    "statement_workbook_speed",
    "statement_workbook_memory",
    "submit_over_http",
)


def machine() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()")
        database_version = cursor.fetchone()[0]
    memory = next(
        (int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line),
        None,
    )
    return {
        "cpus": os.cpu_count(),
        "memory_mib": memory,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "django": django.get_version(),
        "database": connection.vendor,
        "database_version": database_version.split(" on ")[0],
    }


def table(figures: list[Figure]) -> str:
    rows = [("figure", "floor", "value", "ratio", "target", "met", "note")]
    for f in figures:
        if f.status == "skipped":
            rows.append((f.title, "–", "–", "–", f.target, "skipped", f.note))
            continue
        rows.append(
            (
                f.title,
                f"{f.floor:g} {f.unit} ({f.floor_label})",
                f"{f.value:g} {f.unit} ({f.value_label})",
                f"{f.ratio:g}×",
                f.target,
                "yes" if f.met else "NO",
                f.note,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


def run(*, scale_name: str, output: Path, database_name: str | None, only: set[str], log: Callable[[str], None]):
    """Create the benchmark's database, measure every figure, destroy the database; returns the results."""
    scale = SCALES[scale_name]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="foerderdesk-bench-") as folder:
        workdir = Path(folder)
        test_settings = connection.settings_dict.setdefault("TEST", {})
        if connection.vendor == "sqlite":
            test_settings["NAME"] = database_name or str(workdir / "bench.sqlite3")
        else:
            test_settings["NAME"] = database_name or f"{connection.settings_dict['NAME']}_bench"
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            log(f"database {connection.settings_dict['NAME']} ({connection.vendor}), scale {scale.name}")
            with override_settings(
                MEDIA_ROOT=workdir / "media", EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"
            ):
                results = {"machine": machine(), "scale": scale.name}
                world = data.build_world()
                figures: list[Figure] = []
                steps = [
                    ({"application_list_page", "application_list_api"}, lambda: list_figures(world, scale)),
                    ({f for f in FIGURE_IDS if f.startswith("budget_")}, lambda: budget_figures(world, scale)),
                    ({"approval_notice_pdf"}, lambda: letter_figure(world, scale)),
                    (
                        {"statement_workbook_speed", "statement_workbook_memory"},
                        lambda: statement_figures(world, scale, workdir=workdir),
                    ),
                    ({"submit_over_http"}, lambda: submit_figure(world, scale, workdir=workdir)),
                ]
                for ids, step in steps:
                    if only and not (ids & only):
                        continue
                    step_started = time.monotonic()
                    measured = step()
                    figures += measured
                    log(f"  {', '.join(sorted(ids))}: {time.monotonic() - step_started:.0f} s")
                # The kept totals against the entries, after all the benchmark's bookings (bulk ones included).
                found = totals.differences()
                results["ledger_reconcile"] = {"differences": len(found), "allocations": Allocation.objects.count()}
                log(f"ledger_reconcile: {len(found)} differences")
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
    results["seconds"] = round(time.monotonic() - started, 1)
    results["figures"] = [f.as_dict() for f in figures]
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    log(table(figures))
    return results
