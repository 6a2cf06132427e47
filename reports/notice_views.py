"""The workspace's pages of the state's funding notices and their drawdowns (Mittelabruf), under haushalt/.

Staff of the notice's municipality read (others: not found); finance records notices, requests and receipts.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from budgets import notices
from budgets.models import Allocation, Drawdown, StateNotice, StateTranche
from budgets.rules import may_manage_state_notices, visible_state_notices
from budgets.selectors import allocations_with_balance
from budgets.shares import to_euros
from core.errors import DomainError
from core.models import Municipality
from core.money import format_amount
from core.views import workspace_view
from grants import drawdowns
from grants.drawdowns import drawdown_proposal

from .notice_forms import DrawdownReceiptForm, DrawdownRequestForm, StateNoticeForm, TrancheFormSet

TRANCHES = "kassenmittel"


def _finance_only(request) -> None:
    decision = may_manage_state_notices(request.user)
    if not decision:
        raise PermissionDenied(decision.reason)


def _notice_or_404(request, pk: int) -> StateNotice:
    notice = visible_state_notices(request.user).select_related("municipality").filter(pk=pk).first()
    if notice is None:
        raise Http404(_("Zuwendungsbescheid des Landes nicht gefunden."))
    return notice


@workspace_view
def state_notice_list(request):
    return render(
        request,
        "workspace/state_notices.html",
        {
            "nav": "budgets",
            "notices": notices.state_notices_overview(request.user),
            "may_manage": bool(may_manage_state_notices(request.user)),
        },
    )


@workspace_view
def state_notice_new(request):
    _finance_only(request)
    municipalities = Municipality.objects.filter(pk__in=request.user.municipality_ids).order_by("name")
    form = StateNoticeForm(request.POST or None, municipalities=municipalities)
    tranches = TrancheFormSet(request.POST or None, prefix=TRANCHES)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        if form.is_valid() and tranches.is_valid():
            data = form.cleaned_data
            try:
                notice = notices.state_notice_create(
                    by=request.user,
                    municipality_id=data["municipality"],
                    number=data["number"],
                    issued_on=data["issued_on"],
                    funding_body=data["funding_body"],
                    eligible_total=data["eligible_total"],
                    shares={share: data[share] for share in ("federal", "state", "municipal", "private")},
                    period_start=data["period_start"],
                    period_end=data["period_end"],
                    tranches=[
                        notices.TrancheInput(year=row["year"], amount=row["amount"])
                        for row in tranches.cleaned_data
                        if row
                    ],
                )
            except DomainError as refusal:
                errors, status = refusal.reasons, refusal.status
            else:
                messages.success(request, _("Der Zuwendungsbescheid des Landes ist erfasst."))
                return redirect("workspace:state_notice", pk=notice.pk)
        else:
            status = 400
            errors = [
                f"{field.label}: {error}" for row in tranches.forms for field in row for error in field.errors
            ] + list(tranches.non_form_errors())
    return render(
        request,
        "workspace/state_notice_new.html",
        {"nav": "budgets", "form": form, "tranches": tranches, "errors": errors},
        status=status,
    )


def _detail(request, notice: StateNotice, *, errors=(), status=200, request_form=None, receipt_form=None):
    allocations = list(
        allocations_with_balance(Allocation.objects.filter(state_notice=notice)).order_by("year", "programme__name")
    )
    rows = list(notices.drawdowns_with_receipts(notice.drawdowns.all()).order_by("-number"))
    for row in rows:
        row.status = notices.drawdown_status(row)  # type: ignore[attr-defined]
        row.status_label = Drawdown.Status(row.status).label  # type: ignore[attr-defined]
        row.open_federal = row.federal_amount - row.received_federal  # type: ignore[attr-defined]
        row.open_state = row.state_amount - row.received_state  # type: ignore[attr-defined]
    today = timezone.localdate()
    proposal = drawdown_proposal(notice, on=today)
    may = proposal.may_request
    return render(
        request,
        "workspace/state_notice.html",
        {
            "nav": "budgets",
            "notice": notice,
            "tranches": StateTranche.objects.filter(notice=notice).order_by("year"),
            "allocations": allocations,
            "proposal": proposal,
            "drawdowns": rows,
            "errors": list(errors),
            "may_manage": bool(may_manage_state_notices(request.user)),
            "request_form": request_form
            or DrawdownRequestForm(
                initial={
                    "federal": format_amount(to_euros(may["federal"])),
                    "state": format_amount(to_euros(may["state"])),
                }
            ),
            "receipt_form": receipt_form or DrawdownReceiptForm(initial={"received_on": today}),
        },
        status=status,
    )


@workspace_view
def state_notice_detail(request, pk: int):
    return _detail(request, _notice_or_404(request, pk))


def _form_errors(form) -> list[str]:
    return [f"{form.fields[name].label}: {error}" if name in form.fields else str(error)
            for name, errors in form.errors.items() for error in errors]  # fmt: skip


@workspace_view
@require_POST
def drawdown_request(request, pk: int):
    notice = _notice_or_404(request, pk)
    _finance_only(request)
    form = DrawdownRequestForm(request.POST)
    if not form.is_valid():
        return _detail(request, notice, errors=_form_errors(form), status=400, request_form=form)
    try:
        drawdown = drawdowns.drawdown_request(
            notice_id=notice.pk,
            by=request.user,
            federal=form.cleaned_data["federal"],
            state=form.cleaned_data["state"],
            comment=form.cleaned_data["comment"],
        )
    except DomainError as refusal:
        return _detail(request, notice, errors=refusal.reasons, status=refusal.status, request_form=form)
    messages.success(request, _("Mittelabruf %(number)s ist erfasst.") % {"number": drawdown.number})
    return redirect("workspace:state_notice", pk=notice.pk)


@workspace_view
@require_POST
def drawdown_receipt(request, pk: int, drawdown_id: int):
    notice = _notice_or_404(request, pk)
    if not notice.drawdowns.filter(pk=drawdown_id).exists():
        raise Http404(_("Mittelabruf nicht gefunden."))
    _finance_only(request)
    form = DrawdownReceiptForm(request.POST)
    if not form.is_valid():
        return _detail(request, notice, errors=_form_errors(form), status=400)
    try:
        drawdowns.drawdown_receive(
            drawdown_id=drawdown_id,
            by=request.user,
            received_on=form.cleaned_data["received_on"],
            federal=form.cleaned_data["federal"],
            state=form.cleaned_data["state"],
        )
    except DomainError as refusal:
        return _detail(request, notice, errors=refusal.reasons, status=refusal.status)
    messages.success(request, _("Der Geldeingang ist erfasst."))
    return redirect("workspace:state_notice", pk=notice.pk)
