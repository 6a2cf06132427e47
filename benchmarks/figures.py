"""The figures of issue 8, each measured beside its floor in the same run: medians, compared as ratios."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from html import escape
from pathlib import Path

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from lxml import html as lxml_html
from openpyxl import Workbook, load_workbook
from weasyprint import HTML

from budgets.models import Allocation
from budgets.selectors import allocation_balance_by_share
from budgets.services import allocation_committed
from grants.letters import letter_html, render_letter
from grants.models import GrantApplication

from . import data, http


@dataclass
class Figure:
    id: str
    title: str
    unit: str
    floor_label: str
    value_label: str
    target: str
    floor: float | None = None
    value: float | None = None
    ratio: float | None = None
    met: bool | None = None
    status: str = "measured"  # or "skipped", with the reason in ``note``
    note: str = ""
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Scale:
    name: str
    applications: tuple[int, int]
    ledger_entries: tuple[int, int]
    measures: tuple[int, int]
    runs: int
    pdf_runs: int
    http_rounds: int
    http_requests: int
    http_seconds: int
    http_users: int


SCALES = {
    "full": Scale("full", (10, 10_000), (100, 100_000), (10_000, 100_000), 15, 7, 3, 400, 30, 8),
    "smoke": Scale("smoke", (10, 20), (100, 200), (10, 20), 2, 1, 1, 12, 15, 2),
}


def median_ms(times: list[float]) -> float:
    return round(statistics.median(times) * 1000, 2)


def timed(call: Callable[[], object], runs: int, *, warmup: int = 1, seconds: float = 15) -> list[float]:
    """``runs`` timings, or fewer (never under three) once ``seconds`` are spent: a slow call needs fewer."""
    for _ in range(warmup):
        call()
    times: list[float] = []
    while len(times) < runs and (len(times) < 3 or sum(times) < seconds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def interleaved(
    floor: Callable[[], object], figure: Callable[[], object], runs: int
) -> tuple[list[float], list[float]]:
    """Alternate floor and figure, so that a busy neighbour on the machine slows both alike."""
    floor()
    figure()
    floor_times, figure_times = [], []
    for _ in range(runs):
        for call, times in ((floor, floor_times), (figure, figure_times)):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
    return floor_times, figure_times


def analyse() -> None:
    # PostgreSQL's autovacuum would have gathered statistics on a real instance by now.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _get(client: Client, url: str, **headers) -> Callable[[], object]:
    def call():
        response = client.get(url, **headers)
        assert response.status_code == 200, (url, response.status_code)
        return response

    return call


def _staff_client(user) -> Client:
    """A client logged in as staff are after the password and the second factor (the session names the device)."""
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    device = TOTPDevice.objects.get_or_create(user=user, confirmed=True, defaults={"name": "Benchmark"})[0]
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def _queries(call: Callable[[], object]) -> tuple[int, list[dict]]:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries), captured.captured_queries


def _count_query_ms(queries: list[dict]) -> float | None:
    counts = [float(q["time"]) for q in queries if "COUNT(" in q["sql"].upper()]
    return round(sum(counts) * 1000, 2) if counts else None


def list_figures(world: data.World, scale: Scale) -> list[Figure]:
    """The application list page and the list endpoint at the small and the large number of applications."""
    client = _staff_client(world.caseworker)
    pages = {
        "application_list_page": ("application list page /arbeitsplatz/antraege/", "/arbeitsplatz/antraege/", {}),
        "application_list_api": (
            "list endpoint /api/applications/",
            "/api/applications/",
            {"HTTP_AUTHORIZATION": f"Token {world.caseworker_token}"},
        ),
    }
    small, large = scale.applications
    seen: dict[str, dict] = {}
    for size in (small, large):
        data.add_applications(world, size - world.created)
        analyse()
        for key, (_title, url, headers) in pages.items():
            call = _get(client, url, **headers)
            count, queries = _queries(call)
            times = timed(call, scale.runs, warmup=2)
            seen.setdefault(key, {})[size] = {
                "queries": count,
                "median_ms": median_ms(times),
                "count_query_ms": _count_query_ms(queries),
                "slowest_query_ms": round(max(float(q["time"]) for q in queries) * 1000, 2),
            }
    figures = []
    for key, (title, _url, _headers) in pages.items():
        at_small, at_large = seen[key][small], seen[key][large]
        ratio = at_large["median_ms"] / at_small["median_ms"]
        same_queries = at_small["queries"] == at_large["queries"]
        figures.append(
            Figure(
                id=key,
                title=title,
                unit="ms",
                floor_label=f"{small:,} applications",
                value_label=f"{large:,} applications",
                target="same queries, ≤ 2×",
                floor=at_small["median_ms"],
                value=at_large["median_ms"],
                ratio=round(ratio, 2),
                met=same_queries and ratio <= 2,
                note=f"queries {at_small['queries']}/{at_large['queries']}; "
                f"COUNT query {at_large['count_query_ms']} ms",
                details={"small": at_small, "large": at_large, "runs": scale.runs},
            )
        )
    return figures


def _budget_calls(client: Client, allocation: Allocation) -> dict[str, tuple[str, Callable[[], object]]]:
    return {
        "budget_balance_by_share": ("allocation_balance_by_share()", lambda: allocation_balance_by_share(allocation)),
        "budget_dashboard_page": (
            "allocation dashboard /arbeitsplatz/haushalt/<id>/ (newest bookings first)",
            _get(client, f"/arbeitsplatz/haushalt/{allocation.pk}/"),
        ),
        "budget_api_balance": (
            "API balance /api/allocations/<id>/balance/",
            _get(client, f"/api/allocations/{allocation.pk}/balance/"),
        ),
        "budget_ledger_newest_api": (
            "API newest ledger page /api/ledger/?allocation=<id>",
            _get(client, f"/api/ledger/?allocation={allocation.pk}"),
        ),
        "budget_commit_check": (
            "the approval's check under the row lock (committed per share)",
            lambda: allocation_committed(allocation),
        ),
    }


def _measured(call: Callable[[], object], times: list[float]) -> dict:
    queries, captured = _queries(call)
    return {
        "queries": queries,
        "runs": len(times),
        "median_ms": median_ms(times),
        "query_ms": {q["sql"][:80]: round(float(q["time"]) * 1000, 2) for q in captured},
    }


def budget_figures(world: data.World, scale: Scale) -> list[Figure]:
    """The budget's figures for one allocation with 100 entries of its own, and at 100,000.

    - ``…_in_large_ledger``: the allocation's own 100 entries in a ledger of 100 (the floor), then again once the
      ledger holds 100,000 whose other entries belong to last year's allocation (a state's ledger around one
      allocation); measured before and after, as the ledger cannot be small and large at once.
    - the issue's figure: an allocation with 100,000 entries of its own against the allocation with 100, the two
      measured alternately in one run.
    """
    allocation = world.allocation
    last_year = Allocation.objects.create(
        programme=world.programme, year=allocation.year - 1, amount=allocation.amount, state_share="1/1"
    )
    client = _staff_client(world.caseworker)
    calls = _budget_calls(client, allocation)
    small, large = scale.ledger_entries
    seen: dict[str, dict] = {}
    for phase, booked_to, count in (("floor", allocation, small), ("large_ledger", last_year, large - small)):
        data.add_ledger_entries(world, booked_to, count)
        analyse()
        for key, (_title, call) in calls.items():
            seen.setdefault(key, {})[phase] = _measured(call, timed(call, scale.runs, warmup=1))
    big = Allocation.objects.create(
        programme=world.programme, year=allocation.year + 1, amount=allocation.amount,
        federal_share="1/3", state_share="1/3", municipal_share="1/3",
    )  # fmt: skip
    data.add_ledger_entries(world, big, large)
    analyse()
    big_calls = _budget_calls(client, big)
    for key, (_title, call) in calls.items():
        floor_times, big_times = interleaved(call, big_calls[key][1], scale.runs)
        seen[key]["own_floor"] = _measured(call, floor_times)
        seen[key]["own"] = _measured(big_calls[key][1], big_times)
    figures = []
    for key, (title, _call) in calls.items():
        at = seen[key]
        for floor, phase, suffix, floor_label, label in (
            ("floor", "large_ledger", "_in_large_ledger", f"{small:,} ledger entries",
             f"{small:,} of {large:,} ledger entries"),
            ("own_floor", "own", "", f"{small:,} entries of its own", f"{large:,} entries of its own, alternately"),
        ):  # fmt: skip
            ratio = at[phase]["median_ms"] / at[floor]["median_ms"]
            figures.append(
                Figure(
                    id=key + suffix,
                    title=title,
                    unit="ms",
                    floor_label=floor_label,
                    value_label=label,
                    target="≤ 1.5× (PostgreSQL)",
                    floor=at[floor]["median_ms"],
                    value=at[phase]["median_ms"],
                    ratio=round(ratio, 2),
                    met=ratio <= 1.5,
                    note=f"queries {at[floor]['queries']}/{at[phase]['queries']}",
                    details={"floor": at[floor], "value": at[phase], "runs": scale.runs, "db": connection.vendor},
                )
            )
    return figures


def bare_page(letter: str) -> str:
    """The letter's text, paragraph by paragraph, on a page without style: what WeasyPrint costs at least."""
    text = lxml_html.fromstring(letter).text_content()
    paragraphs = [line.strip() for line in text.splitlines() if line.strip()]
    return "<html><body>" + "".join(f"<p>{escape(p)}</p>" for p in paragraphs) + "</body></html>"


def letter_figure(world: data.World, scale: Scale) -> list[Figure]:
    """The approval notice (Zuwendungsbescheid) of an approved case against a bare page with its text."""
    application = data.approved_case(world)
    _subject, letter = letter_html(application, "approval", comment="Bewilligt")
    bare = bare_page(letter)
    floor_times, figure_times = interleaved(
        lambda: HTML(string=bare).write_pdf(),
        lambda: render_letter(application, "approval", comment="Bewilligt"),
        scale.pdf_runs,
    )
    floor, value = median_ms(floor_times), median_ms(figure_times)
    return [
        Figure(
            id="approval_notice_pdf",
            title="approval notice PDF/A-3b (Zuwendungsbescheid)",
            unit="ms",
            floor_label="WeasyPrint, bare page, same text",
            value_label="render_letter()",
            target="≤ 1.5× floor",
            floor=floor,
            value=value,
            ratio=round(value / floor, 2),
            met=value / floor <= 1.5,
            details={"runs": scale.pdf_runs, "characters": len(lxml_html.fromstring(letter).text_content())},
        )
    ]


def _workbook_cells(path: Path) -> list[tuple[str, list[list]]]:
    """Every sheet of a written workbook with its cell values, read back: what the floor writes again."""
    workbook = load_workbook(path, read_only=True)
    try:
        return [(sheet.title, [list(row) for row in sheet.iter_rows(values_only=True)]) for sheet in workbook]
    finally:
        workbook.close()


def _write_plain(sheets: list[tuple[str, list[list]]], path: Path) -> None:
    """The floor: openpyxl's write-only mode writing the same cells, and nothing else."""
    workbook = Workbook(write_only=True)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)


def _peak_rss_mib(call: Callable[[], object]) -> float | None:
    """Peak resident memory that ``call`` adds to the process (Linux: VmHWM, reset through clear_refs)."""

    def status(key: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise KeyError(key)

    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # the high-water mark starts again at the current RSS
        before = status("VmRSS")
    except (OSError, KeyError):
        return None
    call()
    return round((status("VmHWM") - before) / 1024, 1)


def statement_figures(world: data.World, scale: Scale, *, workdir: Path) -> list[Figure]:
    """The proof-of-use workbook (Verwendungsnachweis) of a programme with paid measures.

    Speed: ``write_statement()`` (queries, rows, styles, formulas, five sheets) against openpyxl's write-only
    mode writing the very cells it wrote, read back, with nothing else to do; interleaved, medians.
    Memory: the peak resident memory ``write_statement()`` adds at the small and at the large number of measures.
    """
    from reports.statements import write_statement

    programme, allocation = data.build_statement_programme(world)
    small, large = scale.measures
    target = workdir / "statement.xlsx"
    floor_target = workdir / "floor.xlsx"

    def statement():
        return write_statement([programme], allocation.year, str(target))

    data.add_funded_measures(world, programme, allocation, small, offset=0)
    analyse()
    totals = statement()
    sheets = _workbook_cells(target)
    cells = sum(len(row) for _title, rows in sheets for row in rows)
    runs = max(3, min(scale.runs, 5))
    floor_times, figure_times = interleaved(lambda: _write_plain(sheets, floor_target), statement, runs)
    sheets.clear()  # the floor's cells are not part of the memory figure
    floor, value = median_ms(floor_times), median_ms(figure_times)
    speed = floor / value  # the statement's speed as a share of the floor's
    memory_small = _peak_rss_mib(statement)

    data.add_funded_measures(world, programme, allocation, large - small, offset=small)
    analyse()
    memory_large = _peak_rss_mib(statement)
    large_seconds = timed(statement, 1, warmup=0)[0]
    memory = (
        Figure(
            id="statement_workbook_memory",
            title="proof-of-use workbook, peak memory",
            unit="MiB",
            floor_label=f"{small:,} measures",
            value_label=f"{large:,} measures",
            target="≤ 1.5×",
            status="skipped",
            note="peak memory cannot be read here (/proc/self/clear_refs)",
        )
        if memory_small is None or memory_large is None
        else Figure(
            id="statement_workbook_memory",
            title="proof-of-use workbook, peak memory",
            unit="MiB",
            floor_label=f"{small:,} measures",
            value_label=f"{large:,} measures",
            target="≤ 1.5×",
            # A peak under 1 MiB is below what the measurement resolves; count it as 1 MiB, never as 0.
            floor=max(memory_small, 1.0),
            value=max(memory_large, 1.0),
            ratio=round(max(memory_large, 1.0) / max(memory_small, 1.0), 2),
            met=max(memory_large, 1.0) / max(memory_small, 1.0) <= 1.5,
            note=f"added peak RSS; {large:,} measures written in {large_seconds:.1f} s",
            details={"small_mib": memory_small, "large_mib": memory_large, "large_seconds": round(large_seconds, 2)},
        )
    )
    return [
        Figure(
            id="statement_workbook_speed",
            title=f"proof-of-use workbook, {small:,} measures",
            unit="ms",
            floor_label="openpyxl write-only, same cells",
            value_label="write_statement()",
            target="≥ 50 % of the floor's speed",
            floor=floor,
            value=value,
            ratio=round(speed, 2),
            met=speed >= 0.5,
            note=f"speed ratio (floor time / statement time); {cells:,} cells in {len(totals.columns)} money columns",
            details={"runs": runs, "cells": cells, "rows": totals.rows},
        ),
        memory,
    ]


def submit_figure(world: data.World, scale: Scale, *, workdir: Path) -> list[Figure]:
    """Submitting drafts over HTTP (gunicorn, 2 workers) against a bare view that writes one row, same server."""
    warm = 4
    drafts = data.add_applications(world, scale.http_rounds * scale.http_requests + warm, submitted=False)
    settings_dict = dict(connection.settings_dict)
    connection.close()
    rounds = []
    with http.gunicorn(settings_dict=settings_dict, workdir=workdir) as url:
        # Both workers import and warm up before anything is counted.
        for _ in range(20):
            http.post(url + "/bench/floor/")
        for pk in drafts[:warm]:
            http.post(f"{url}/api/applications/{pk}/submit/", token=world.owner_token)
        for number in range(scale.http_rounds):
            chunk = drafts[warm + number * scale.http_requests : warm + (number + 1) * scale.http_requests]
            kwargs = {"url": url, "users": scale.http_users, "seconds": scale.http_seconds, "workdir": workdir}
            floor = http.load(paths=["/bench/floor/"] * len(chunk), token="", **kwargs)
            submit = http.load(
                paths=[f"/api/applications/{pk}/submit/" for pk in chunk], token=world.owner_token, **kwargs
            )
            rounds.append({"floor": floor, "submit": submit})
    server_log = (workdir / "gunicorn.log").read_text()
    submitted = GrantApplication.objects.filter(pk__in=drafts, state="submitted").count()
    floor_rps = statistics.median(r["floor"]["rps"] for r in rounds)
    submit_rps = statistics.median(r["submit"]["rps"] for r in rounds)
    errors = sum(r["floor"]["errors"] + r["submit"]["errors"] for r in rounds)
    unsent = sum(r["floor"]["unsent"] + r["submit"]["unsent"] for r in rounds)
    ratio = submit_rps / floor_rps if floor_rps else 0.0
    return [
        Figure(
            id="submit_over_http",
            title="submit over HTTP, POST /api/applications/{id}/submit/",
            unit="req/s",
            floor_label="bare Django view, one INSERT",
            value_label=f"gunicorn 2 workers, {scale.http_users} clients",
            target="≥ 50 % of floor, no errors",
            floor=round(floor_rps, 1),
            value=round(submit_rps, 1),
            ratio=round(ratio, 2),
            met=ratio >= 0.5 and errors == 0,
            note=f"{errors} errors, {unsent} unsent, {submitted} of {len(drafts)} drafts submitted",
            details={
                "rounds": rounds,
                "submitted_drafts": submitted,
                "drafts": len(drafts),
                "server_log_tail": server_log[-3000:],
            },
        )
    ]
