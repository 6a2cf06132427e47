"""The budget dashboard (Haushaltsübersicht) of the workspace."""

from __future__ import annotations

from decimal import Decimal

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from grants.selectors import pending_grants
from grants.views import budget_at_a_glance, workspace_view

from .charts import COLOURS, burn_down_svg, month_names, shares_svg
from .forms import LedgerFilterForm
from .models import SHARE_LABELS
from .rules import visible_allocations
from .selectors import allocation_balance_by_share, ledger_entries, monthly_progress


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
        {"nav": "budgets", "budgets": budget_at_a_glance(request.user, year=year), "year": year, "years": years},
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
    pending = pending_grants([allocation.programme_id]).get(allocation.programme_id, Decimal("0.00"))
    if allocation.year != today.year:
        pending = Decimal("0.00")
    form = LedgerFilterForm(request.GET or None)
    entries = ledger_entries(allocation, **(form.filters() if request.GET else LedgerFilterForm({}).filters()))
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
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
        },
    )
