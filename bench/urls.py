"""The production URLs with the floor views in front (hyperrep.urls ends with a catch-all)."""

from django.urls import URLPattern, URLResolver, include, path, re_path

from bench.floor import (
    contacts_floor,
    conversations_floor,
    messages_floor,
    response_drafts_floor,
    sales_floor,
)
from hyperrep import urls as production

FLOOR_PREFIX = "/bench/floor/organizations/"
ORG = r"^bench/floor/organizations/(?P<organization_id>[^/]+)"

urlpatterns: list[URLPattern | URLResolver] = [
    re_path(rf"{ORG}/contacts/?$", contacts_floor),
    re_path(rf"{ORG}/conversations/?$", conversations_floor),
    re_path(rf"{ORG}/conversations/(?P<conversation_id>[^/]+)/messages/?$", messages_floor),
    re_path(rf"{ORG}/sales/?$", sales_floor),
    re_path(
        rf"{ORG}/conversations/(?P<conversation_id>[^/]+)/response-drafts/?$",
        response_drafts_floor,
    ),
    path("", include(production)),
]

# Django reads the error views from the root URLconf.
handler400 = production.handler400
handler403 = production.handler403
handler404 = production.handler404
handler500 = production.handler500
