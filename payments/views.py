"""The workspace's payment runs: finance gathers, orders and records them; auditors read."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from applicants.rules import may_see_full_iban
from core.errors import DomainError
from core.models import Municipality
from core.views import workspace_view

from . import sepa, services
from .forms import ExecutedForm, ReturnForm, RunForm
from .models import PaymentRun


def _readable(request) -> None:
    if not services.may_read_runs(request.user):
        raise PermissionDenied(_("Zahlungsläufe sehen die Finanzabteilung und die Prüfung."))


def _run_or_404(request, pk: int) -> PaymentRun:
    """Another town's run is not found for anyone (404); one's own town's needs the role (403)."""
    run = services.town_runs(request.user).select_related("municipality", "created_by", "ordered_by").filter(pk=pk)
    found = run.first()
    if found is None:
        raise Http404(_("Zahlungslauf nicht gefunden."))
    _readable(request)
    return found


@workspace_view
def run_list(request):
    _readable(request)
    form = RunForm(
        request.POST or None,
        initial={"value_date": timezone.localdate()},
        municipalities=Municipality.objects.filter(pk__in=request.user.municipality_ids).order_by("name"),
    )
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        if not services.may_pay(request.user):
            raise PermissionDenied(_("Zahlungsläufe stellt die Finanzabteilung zusammen und ordnet sie an."))
        if form.is_valid():
            try:
                run = services.run_create(
                    by=request.user,
                    value_date=form.cleaned_data["value_date"],
                    municipality_id=form.cleaned_data.get("municipality"),
                )
            except DomainError as refusal:
                errors, status = refusal.reasons, refusal.status
            else:
                messages.success(request, _("Der Zahlungslauf ist zusammengestellt."))
                return redirect("workspace:payment_run", pk=run.pk)
        else:
            status = 400
    runs = services.visible_runs(request.user).select_related("created_by", "ordered_by")
    waiting = [
        (municipality_id, services.waiting_payments(municipality_id).count())
        for municipality_id in sorted(request.user.municipality_ids)
    ]
    return render(
        request,
        "workspace/payment_runs.html",
        {
            "nav": "payments",
            "form": form,
            "errors": errors,
            "page": Paginator(runs, 50).get_page(request.GET.get("page")),
            "waiting": sum(count for _m, count in waiting),
            "may_pay": services.may_pay(request.user),
        },
        status=status,
    )


def _detail(request, run: PaymentRun, *, errors=(), status=200):
    return render(
        request,
        "workspace/payment_run.html",
        {
            "nav": "payments",
            "run": run,
            "items": run.items.select_related("application").order_by("id"),
            "errors": list(errors),
            "may_pay": services.may_pay(request.user),
            "full_iban": may_see_full_iban(request.user),
            "executed_form": ExecutedForm(initial={"executed_on": timezone.localdate()}),
            "return_form": ReturnForm(initial={"returned_on": timezone.localdate()}),
        },
        status=status,
    )


@workspace_view
def run_detail(request, pk: int):
    return _detail(request, _run_or_404(request, pk))


def _write(request, pk: int, write, done: str, form_class=None):
    run = _run_or_404(request, pk)
    data = {}
    if form_class is not None:
        form = form_class(request.POST)
        if not form.is_valid():
            return _detail(request, run, errors=[e for errs in form.errors.values() for e in errs], status=400)
        data = form.cleaned_data
    try:
        write(data)
    except DomainError as refusal:
        return _detail(request, run, errors=refusal.reasons, status=refusal.status)
    messages.success(request, done)
    return redirect("workspace:payment_run", pk=run.pk)


@workspace_view
@require_POST
def run_order(request, pk: int):
    return _write(
        request, pk, lambda data: services.run_order(by=request.user, run_id=pk), _("Der Zahlungslauf ist angeordnet.")
    )


@workspace_view
@require_POST
def run_executed(request, pk: int):
    return _write(
        request,
        pk,
        lambda data: services.run_execute(by=request.user, run_id=pk, executed_on=data["executed_on"]),
        _("Die Ausführung ist erfasst; die Antragsteller/innen erhalten eine Nachricht."),
        ExecutedForm,
    )


@workspace_view
@require_POST
def item_returned(request, pk: int, item_id: int):
    return _write(
        request,
        pk,
        lambda data: services.item_return(
            by=request.user, run_id=pk, item_id=item_id, returned_on=data["returned_on"], reason=data["reason"]
        ),
        _("Die Rücküberweisung ist erfasst; die Zahlung kommt in einen späteren Lauf, sobald die IBAN stimmt."),
        ReturnForm,
    )


@workspace_view
def run_file(request, pk: int, kind: str):
    run = _run_or_404(request, pk)
    if kind == "xml":
        try:
            content = sepa.pain001(run)
        except DomainError as refusal:
            return _detail(request, run, errors=refusal.reasons, status=409)
        response = HttpResponse(content, content_type="application/xml")
        name = f"zahlungslauf-{run.pk}.xml"
    elif kind == "pdf":
        response = HttpResponse(sepa.order_pdf(run), content_type="application/pdf")
        name = f"auszahlungsanordnung-{run.pk}.pdf"
    else:
        response = HttpResponse(
            sepa.workbook(run), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        name = f"zahlungslauf-{run.pk}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
