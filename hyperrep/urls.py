"""How a request is routed: /api/v2/organizations, then every organization-scoped
resource under /api/v2/organizations/{organization_id}/ (one app each), what providers and
websites send in (/inbound/…, apps/inbound), the tracked links of sent emails (/l/<id>),
the admin, the health probes, the metrics (/metrics) and the API reference. Errors outside
DRF answer in JSON too."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from apps.delivery.views import follow_link
from hyperrep.api.exceptions import error_response, page_not_found
from hyperrep.api.viewsets import UnknownPath
from hyperrep.health import Healthz, Readyz
from hyperrep.metrics import metrics_view

swagger_page = SpectacularSwaggerView.as_view(url_name="openapi-schema")


@csrf_exempt
def api_reference(request: HttpRequest) -> HttpResponse:
    """The browsable reference: a page for GET, and the JSON errors of the API for the rest
    (Swagger's own view would answer them in HTML)."""
    if request.method not in ("GET", "HEAD"):
        response = error_response(405, f'Method "{request.method}" not allowed.')
        response["Allow"] = "GET, HEAD"
        return response
    return swagger_page(request)


ORGANIZATION_SCOPED_APPS = [
    "apps.agents.urls",
    "apps.companies.urls",
    "apps.contacts.urls",
    "apps.conversations.urls",
    "apps.sales.urls",
    "apps.drafts.urls",
    "apps.analytics.urls",
    "apps.webhooks.urls",
]
organization_scoped: list[URLPattern | URLResolver] = [
    path("", include(module)) for module in ORGANIZATION_SCOPED_APPS
]

api_v2: list[URLPattern | URLResolver] = [
    re_path(r"^openapi\.json/?$", SpectacularJSONAPIView.as_view(), name="openapi-schema"),
    re_path(
        r"^organizations/(?P<organization_id>[^/]+)/",
        include(organization_scoped),
    ),
    path("", include("apps.organizations.urls")),
    re_path(r"", UnknownPath.view(), name="unmatched"),
]

urlpatterns = [
    re_path(r"^api/v2$", UnknownPath.view(), name="unmatched"),  # as any unknown API path
    path("api/v2/", include(api_v2)),
    re_path(r"^api/docs/?$", api_reference, name="api-docs"),
    path("inbound/", include("apps.inbound.urls")),
    re_path(r"^l/(?P<link_id>[^/]+)/?$", follow_link, name="tracked-link"),
    re_path(r"^healthz/?$", Healthz.as_view(), name="healthz"),
    re_path(r"^readyz/?$", Readyz.as_view(), name="readyz"),
    # Prometheus (hyperrep/metrics.py): a plain view, so not in the OpenAPI schema.
    re_path(r"^metrics/?$", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    # Unknown paths: the JSON 404 of the contract, also when DEBUG is on (where Django would
    # otherwise render its HTML page).
    re_path(r"", page_not_found, name="unmatched"),
]

handler400 = "hyperrep.api.exceptions.bad_request"
handler403 = "hyperrep.api.exceptions.permission_denied"
handler404 = "hyperrep.api.exceptions.page_not_found"
handler500 = "hyperrep.api.exceptions.server_error"
