"""The budget dashboard (Haushaltsübersicht) of the workspace."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from budgets import carry_overs
from budgets.models import SHARE_LABELS, Allocation, CarryOver, Statement
from budgets.notices import open_drawdowns
from budgets.rules import may_manage_allocations, visible_allocations, visible_statements
from budgets.selectors import (
    allocation_balance_by_share,
    budget_years,
    entry_count,
    ledger_entries,
    monthly_progress,
    newest_page,
)
from core.errors import Code, DomainError
from core.money import ZERO
from core.views import workspace_view
from grants.rules import visible_programmes
from grants.selectors import budget_at_a_glance, pending_grants

from . import services
from .charts import COLOURS, burn_down_svg, month_names, shares_svg
from .forms import CarryOverForm, LedgerFilterForm, StatementForm
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


def _allocation_or_404(request, pk: int) -> Allocation:
    allocation = visible_allocations(request.user).select_related("programme__municipality").filter(pk=pk).first()
    if allocation is None:
        raise Http404
    return allocation


@workspace_view
def allocation_dashboard(request, pk: int):
    return _dashboard(request, _allocation_or_404(request, pk))


def _dashboard(request, allocation: Allocation, *, errors: list[str] | None = None, status: int = 200):
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
    years = budget_years(allocation)
    carries = list(
        CarryOver.objects.filter(allocation=allocation).select_related("proposed_by", "decided_by").order_by("-id")
    )
    taken = {c.from_year for c in carries if c.status != CarryOver.Status.CANCELLED}
    open_years = [y.year for y in years if y.year < today.year and y.year not in taken and (y.cash - y.paid) > 0]
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
            "years": years,
            "carry_overs": carries,
            "may_carry": bool(may_manage_allocations(request.user)),
            "carry_form": CarryOverForm(years=open_years) if open_years else None,
            "errors": errors or [],
        },
        status=status,
    )


def _carry_write(request, pk: int, write, done: str):
    allocation = _allocation_or_404(request, pk)
    allowed = may_manage_allocations(request.user)
    if not allowed:
        raise PermissionDenied(allowed.reason)
    try:
        write(allocation)
    except DomainError as refusal:
        if refusal.code == Code.NOT_FOUND:
            raise Http404 from None
        return _dashboard(request, allocation, errors=refusal.reasons, status=refusal.status)
    messages.success(request, done)
    return redirect(reverse("workspace:allocation", args=[allocation.pk]) + "#jahre-heading")


@workspace_view
@require_POST
def carry_over_new(request, pk: int):
    """Finance proposes to carry an ended year's unspent cash into the next; a second person confirms it."""

    def write(allocation):
        form = CarryOverForm(request.POST, years=list(range(allocation.year, timezone.localdate().year)))
        if not form.is_valid():
            raise DomainError([e for errs in form.errors.values() for e in errs], code=Code.INVALID)
        carry_overs.carry_over_propose(
            allocation_id=allocation.pk,
            from_year=form.cleaned_data["from_year"],
            by=request.user,
            comment=form.cleaned_data["comment"],
        )

    return _carry_write(request, pk, write, _("Der Übertrag ist vorgeschlagen; eine zweite Person bestätigt ihn."))


@workspace_view
@require_POST
def carry_over_confirm(request, pk: int, carry_id: int):
    return _carry_write(
        request,
        pk,
        lambda allocation: carry_overs.carry_over_confirm(
            carry_over_id=_own_carry(allocation, carry_id), by=request.user
        ),
        _("Der Übertrag ist gebucht."),
    )


@workspace_view
@require_POST
def carry_over_cancel(request, pk: int, carry_id: int):
    return _carry_write(
        request,
        pk,
        lambda allocation: carry_overs.carry_over_cancel(
            carry_over_id=_own_carry(allocation, carry_id), by=request.user
        ),
        _("Der Vorschlag ist verworfen."),
    )


def _own_carry(allocation: Allocation, carry_id: int) -> int:
    if not CarryOver.objects.filter(pk=carry_id, allocation=allocation).exists():
        raise DomainError(_("Diesen Übertrag gibt es nicht."), code=Code.NOT_FOUND)
    return carry_id


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
