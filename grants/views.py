from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from .models import Letter, LetterBatch
from .rules import decide
from .selectors import open_programmes


def home(request):
    return render(request, "grants/home.html", {"programmes": open_programmes(on=timezone.localdate())})


@login_required
def letter_download(request, pk: int):
    """Owners and staff of the case download its letters; anyone else gets 404."""
    letter = get_object_or_404(Letter.objects.select_related("application__programme", "application__applicant"), pk=pk)
    if not decide(request.user, "view", letter.application):
        raise Http404
    response = FileResponse(letter.file.open("rb"), as_attachment=True, filename=letter.file.name.rsplit("/", 1)[-1])
    response["X-Content-SHA256"] = letter.sha256
    return response


@login_required
def letter_batch_detail(request, pk: int):
    batch = get_object_or_404(LetterBatch, pk=pk, created_by=request.user)
    return render(request, "grants/letter_batch.html", {"batch": batch})
