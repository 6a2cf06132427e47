"""Initial consultations (Erstberatungen) in the workspace, and the second factor at the staff login."""

from __future__ import annotations

from base64 import b32encode
from urllib.parse import urlencode

import django_otp
import qrcode
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from qrcode.compat.etree import ET
from qrcode.image.svg import SvgPathFillImage

from core.models import Municipality
from core.views import workspace_view

from .forms import ConsultationForm, ConsultationSearchForm, OneTimeCodeForm
from .rules import lacks_second_factor, may_record_consultation
from .selectors import consultations_found, has_authenticator_app
from .services import (
    AddressInput,
    PersonInput,
    consultation_record,
    second_factor_verify,
    totp_enrolment_confirm,
    totp_enrolment_start,
)


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


def _target(request) -> str:
    """Where the person wanted to go (a page of this site only), else their start page."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    if request.user.is_municipal_staff:
        return reverse("workspace:start")
    if request.user.is_staff:
        return reverse("admin:index")
    return reverse("home")


def _with_next(name: str, target: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': target})}"


@login_required
def second_factor(request):
    """Zweiter Faktor: after the password, staff confirm their login with the code from their authenticator app."""
    user = request.user
    target = _target(request)
    if not lacks_second_factor(user):
        return redirect(target)
    if not has_authenticator_app(user):
        return redirect(_with_next("second_factor_setup", target))
    form = OneTimeCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = second_factor_verify(user=user, code=form.cleaned_data["code"])
        except ValidationError as error:
            form.add_error("code", error)
        else:
            django_otp.login(request, device)
            return redirect(target)
    status = 400 if request.method == "POST" else 200
    return render(request, "account/second_factor.html", {"form": form, "next": target}, status=status)


@login_required
def second_factor_setup(request):
    """Set up the authenticator app (once, at the first staff login): scan the QR code, confirm with a code."""
    user = request.user
    target = _target(request)
    if not lacks_second_factor(user):
        return redirect(target)
    if has_authenticator_app(user):
        return redirect(_with_next("second_factor", target))
    device = totp_enrolment_start(user=user)
    form = OneTimeCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = totp_enrolment_confirm(user=user, code=form.cleaned_data["code"])
        except ValidationError as error:
            form.add_error("code", error)
        else:
            django_otp.login(request, device)
            messages.success(
                request,
                _("Die Authenticator-App ist eingerichtet. Ab jetzt fragt Förderdesk bei jeder Anmeldung danach."),
            )
            return redirect(target)
    secret = b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "next": target,
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "uri": device.config_url,
        "qr_code": _qr_code(device.config_url, title=_("QR-Code zum Einrichten der Authenticator-App")),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "account/second_factor_setup.html", context, status=status)


def _qr_code(uri: str, *, title: str) -> str:
    """The otpauth URI as an inline SVG, drawn on the server: no script, no style attribute."""
    svg = qrcode.make(uri, image_factory=SvgPathFillImage, border=4).get_image()
    svg.set("class", "fd-qr")
    svg.set("role", "img")
    svg.set("aria-labelledby", "qr-titel")
    caption = ET.Element("title", id="qr-titel")
    caption.text = title
    svg.insert(0, caption)
    return mark_safe(ET.tostring(svg, encoding="unicode"))  # noqa: S308 - our own drawing, no user input in it
