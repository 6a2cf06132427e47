"""Workspace pages for the wording of letters: staff change it themselves, without a deploy or the admin."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from core.views import workspace_view

from .forms import LetterTemplateForm
from .letter_defaults import DEFAULTS, SIGNATORY
from .models import LetterKind, LetterTemplate
from .rules import may_manage_letters


def _may_edit(user) -> None:
    if not may_manage_letters(user):
        raise PermissionDenied(_("Briefvorlagen ändern Sachbearbeitung und Bewilligung."))


@workspace_view
def letter_templates(request):
    """The wording in force for each kind of letter in the user's municipalities: own templates and the default."""
    templates = (
        LetterTemplate.objects.filter(municipality__in=request.user.municipality_ids)
        .select_related("municipality", "programme")
        .order_by("municipality__name", "programme__name", "kind")
    )
    return render(
        request,
        "workspace/letter_templates.html",
        {
            "nav": "letters",
            "templates": templates,
            "kinds": LetterKind.choices,
            "may_edit": may_manage_letters(request.user),
        },
    )


@workspace_view
def letter_template_new(request):
    _may_edit(request.user)
    kind = request.GET.get("kind") if request.GET.get("kind") in LetterKind.values else LetterKind.APPROVAL
    default = DEFAULTS[LetterKind(kind)]
    initial = {
        "kind": kind,
        "subject": default["subject"],
        "body": default["body"],
        "signatory": SIGNATORY,
        "legal_remedy_notice": default["legal_remedy_notice"],
    }
    return _template_form(request, None, initial=initial)


@workspace_view
def letter_template_edit(request, pk: int):
    template = get_object_or_404(LetterTemplate, pk=pk, municipality__in=request.user.municipality_ids)
    _may_edit(request.user)
    return _template_form(request, template)


def _template_form(request, template: LetterTemplate | None, *, initial: dict | None = None):
    form = LetterTemplateForm(request.POST or None, instance=template, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, _("Die Briefvorlage „%(template)s“ ist gespeichert.") % {"template": saved})
        return redirect("workspace:letter_templates")
    return render(
        request,
        "workspace/letter_template_form.html",
        {"nav": "letters", "form": form, "template": template},
        status=400 if request.method == "POST" else 200,
    )
