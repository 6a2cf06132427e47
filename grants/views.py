from django.shortcuts import render
from django.utils import timezone

from .selectors import open_programmes


def home(request):
    return render(request, "grants/home.html", {"programmes": open_programmes(on=timezone.localdate())})
