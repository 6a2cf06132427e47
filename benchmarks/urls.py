"""The product's URLs plus the floor of the HTTP figure: a bare view that writes one row."""

import uuid
from datetime import timedelta

from django.contrib.sessions.models import Session
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from config.urls import handler404, handler500  # noqa: F401
from config.urls import urlpatterns as product_urlpatterns


@csrf_exempt
@require_POST
def floor_write(request):
    """One INSERT in its own transaction and nothing else: what any write request costs at least."""
    Session.objects.create(
        session_key=uuid.uuid4().hex, session_data="", expire_date=timezone.now() + timedelta(minutes=5)
    )
    return HttpResponse(status=201)


urlpatterns = [path("bench/floor/", floor_write, name="bench-floor"), *product_urlpatterns]
