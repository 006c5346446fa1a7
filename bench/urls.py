"""The production URLs with the floor view in front (hyperrep.urls ends with a catch-all)."""

from django.urls import URLPattern, URLResolver, include, path, re_path

from bench.floor import contacts_floor
from hyperrep import urls as production

FLOOR_PREFIX = "/bench/floor/organizations/"

urlpatterns: list[URLPattern | URLResolver] = [
    re_path(r"^bench/floor/organizations/(?P<organization_id>[^/]+)/contacts/?$", contacts_floor),
    path("", include(production)),
]

# Django reads the error views from the root URLconf.
handler400 = production.handler400
handler403 = production.handler403
handler404 = production.handler404
handler500 = production.handler500
