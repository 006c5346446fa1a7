"""The URLs of tests/deploy/slow_urls.py plus `/echo`, a view that answers what the
application was told about the request by the proxy in front of it (tests/deploy/test_proxy.py)."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from tests.deploy.slow_urls import handler400, handler403, handler404, handler500
from tests.deploy.slow_urls import urlpatterns as slow_urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def echo(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "secure": request.is_secure(),
            "host": request.get_host(),
            "forwarded_for": request.META.get("HTTP_X_FORWARDED_FOR"),
            "forwarded_proto": request.META.get("HTTP_X_FORWARDED_PROTO"),
            "request_id": request.META.get("HTTP_X_REQUEST_ID"),
        }
    )


urlpatterns = [path("echo", echo), *slow_urlpatterns]
