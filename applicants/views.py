"""Initial consultations (Erstberatungen) in the workspace: record one, find it later."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from grants.models import Municipality
from grants.views import workspace_view

from .forms import ConsultationForm, ConsultationSearchForm
from .rules import may_record_consultation
from .selectors import consultations_found
from .services import AddressInput, PersonInput, consultation_record


@workspace_view
def consultations(request):
    user = request.user
    municipalities = Municipality.objects.filter(pk__in=user.municipality_ids).order_by("name")
    decision = may_record_consultation(user, municipalities.first())
    if request.method == "POST" and not decision:
        raise PermissionDenied(decision.reason)
    may_record = bool(decision)
    form = ConsultationForm(request.POST or None, municipalities=municipalities) if may_record else None
    errors = []
    if request.method == "POST" and form is not None and form.is_valid():
        data = form.cleaned_data
        try:
            consultation = consultation_record(
                municipality=data["municipality"],
                by=user,
                person=PersonInput(data["name"], data["email"], data["phone"]),
                property_address=AddressInput(data["street"], data["house_number"], data["postcode"], data["city"]),
                held_on=data["held_on"],
                adviser=data["adviser"],
                topics=data["topics"],
                outcome=data["outcome"],
            )
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(
                request, _("Die Erstberatung für %(name)s ist erfasst.") % {"name": consultation.applicant}
            )
            return redirect("workspace:consultations")
    search = ConsultationSearchForm(request.GET or None)
    q = search.cleaned_data["q"] if search.is_valid() else ""
    page = Paginator(consultations_found(user, q=q), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "workspace/consultations.html",
        {
            "nav": "consultations",
            "form": form,
            "search": search,
            "page": page,
            "errors": errors,
            "query": urlencode({"q": q}) if q else "",
            "municipalities": municipalities,
        },  # fmt: skip
        status=400 if request.method == "POST" else 200,
    )
