"""The budget dashboard (Haushaltsübersicht) of the workspace."""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from budgets.models import SHARE_LABELS, Statement
from budgets.notices import open_drawdowns
from budgets.rules import visible_allocations, visible_statements
from budgets.selectors import allocation_balance_by_share, entry_count, ledger_entries, monthly_progress, newest_page
from core.errors import Code, DomainError
from core.money import ZERO
from core.views import workspace_view
from grants.rules import visible_programmes
from grants.selectors import budget_at_a_glance, pending_grants

from . import services
from .charts import COLOURS, burn_down_svg, month_names, shares_svg
from .forms import LedgerFilterForm, StatementForm
from .rules import statement_scope
from .statements import narrative_draft


@workspace_view
def budget_overview(request):
    years = sorted(set(visible_allocations(request.user).values_list("year", flat=True)), reverse=True)
    try:
        year = int(request.GET.get("jahr") or timezone.localdate().year)
    except ValueError:
        year = timezone.localdate().year
    return render(
        request,
        "workspace/budget_overview.html",
        {
            "nav": "budgets",
            "budgets": budget_at_a_glance(request.user, year=year),
            "year": year,
            "years": years,
            "open_drawdowns": open_drawdowns(request.user),
        },
    )


@workspace_view
def allocation_dashboard(request, pk: int):
    allocation = visible_allocations(request.user).select_related("programme__municipality").filter(pk=pk).first()
    if allocation is None:
        raise Http404
    balances = allocation_balance_by_share(allocation)
    today = timezone.localdate()
    last_month = 12 if allocation.year < today.year else today.month if allocation.year == today.year else 0
    points = monthly_progress(allocation)
    # Pending applications are approved against the allocation of the year of approval: this year's.
    pending = pending_grants([allocation.programme_id]).get(allocation.programme_id, ZERO)
    if allocation.year != today.year:
        pending = ZERO
    form = LedgerFilterForm(request.GET or None)
    filters = form.filters() if request.GET else LedgerFilterForm({}).filters()
    before = request.GET.get("vor", "")
    page = newest_page(
        ledger_entries(allocation, **filters), before=int(before) if before.isdigit() and len(before) < 19 else None
    )
    query = request.GET.copy()
    query.pop("vor", None)
    return render(
        request,
        "workspace/allocation_dashboard.html",
        {
            "nav": "budgets",
            "allocation": allocation,
            "total": balances["total"],
            "shares": [(SHARE_LABELS[s], balances[s]) for s in SHARE_LABELS if balances[s].allocation > 0],
            "pending": pending,
            "short": pending > balances["total"].available,
            "burn_down": burn_down_svg(
                allocation=allocation.amount, points=points, last_month=last_month, chart_id="verlauf"
            ),
            "shares_chart": shares_svg(balances=balances, chart_id="anteile"),
            "months": [
                (name, p, allocation.amount - p.committed)
                for name, p in zip(month_names(), points, strict=True)
                if p.month <= last_month
            ],
            "colours": COLOURS,
            "form": form,
            "page": page,
            "query": query.urlencode(),
            # Without a filter the kept totals know how many entries there are; a filtered count would read them all.
            "entry_count": None if any(filters.values()) else entry_count(allocation),
        },
    )


def _statement_or_404(user, pk: int) -> Statement:
    statement = visible_statements(user).select_related("programme", "municipality").filter(pk=pk).first()
    if statement is None:
        raise Http404
    return statement


@workspace_view
def statement_new(request):
    """Verwendungsnachweis anfordern: scope, year and the Sachbericht draft to edit; made in the background."""
    programmes = list(visible_programmes(request.user).select_related("municipality").order_by("name"))
    if request.method == "POST":
        form = StatementForm(request.POST, programmes=programmes)
        if form.is_valid():
            try:
                statement = services.statement_request(
                    by=request.user,
                    year=form.cleaned_data["year"],
                    narrative=form.cleaned_data["narrative"],
                    **form.scope_ids(),
                )
            except DomainError as refusal:
                if refusal.code == Code.NOT_FOUND:
                    raise Http404 from None
                form.add_error(None, " ".join(refusal.reasons))
            else:
                return redirect("workspace:statement", pk=statement.pk)
    else:
        initial = {"year": request.GET.get("jahr") or timezone.localdate().year, "scope": request.GET.get("scope", "")}
        form = StatementForm(initial=initial, programmes=programmes)
        probe = StatementForm(initial, programmes=programmes)
        if probe.is_valid():
            scope = statement_scope(request.user, **probe.scope_ids())
            if scope is None:
                raise Http404
            form.initial["narrative"] = narrative_draft(programmes=scope, year=probe.cleaned_data["year"])
    return render(request, "workspace/statement_new.html", {"nav": "budgets", "form": form})


@workspace_view
def statement_detail(request, pk: int):
    statement = _statement_or_404(request.user, pk)
    return render(request, "workspace/statement_detail.html", {"nav": "budgets", "statement": statement})


@workspace_view
def statement_file(request, pk: int, kind: str):
    statement = _statement_or_404(request.user, pk)
    file = statement.workbook if kind == "xlsx" else statement.pdf
    if statement.status != Statement.Status.DONE or not file:
        raise Http404
    return FileResponse(file.open("rb"), as_attachment=True, filename=file.name.rsplit("/", 1)[-1])
