"""The production URLs plus `/slow`, a view that takes as long as it is told to (gunicorn tests)."""

import hashlib
import time

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from hyperrep.urls import handler400, handler403, handler404, handler500, urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


@csrf_exempt
def slow(request: HttpRequest) -> JsonResponse:
    """Sleeps `?seconds=` (default 1.5) in steps of 50 ms, as a request that runs Python would
    (a RequestTimeout is raised between two steps), then answers the size and SHA-256 of the
    body it read."""
    body = request.body
    deadline = time.monotonic() + float(request.GET.get("seconds", "1.5"))
    while time.monotonic() < deadline:
        time.sleep(min(0.05, max(deadline - time.monotonic(), 0)))
    return JsonResponse({"length": len(body), "sha256": hashlib.sha256(body).hexdigest()})


urlpatterns = [path("slow", slow), *urlpatterns]
