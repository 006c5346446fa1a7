"""Every organization-scoped route of the API, read from the URL resolver, so that a new
route is covered by the security and query-count tests without anyone listing it."""

import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


@dataclass(frozen=True)
class Route:
    template: str  # "/organizations/{organization_id}/contacts/{contact_id}", under /api/v2
    kwargs: tuple[str, ...]  # the ids the path takes besides organization_id
    methods: frozenset[str]
    is_list: bool  # GET answers a page of rows
    filters: frozenset[str]  # the list's filters, besides limit and cursor

    def url(self, **ids: str) -> str:
        return self.template.format(**ids)


def _walk(patterns: list, prefix: str) -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def organization_routes() -> list[Route]:
    routes = []
    for raw, pattern in _walk(get_resolver().url_patterns, ""):
        text = raw.replace("^", "").replace("$", "").replace("/?", "")
        if "(?P<organization_id>" not in text:
            continue
        names = tuple(n for n in _GROUP.findall(text) if n != "organization_id")
        template = "/" + _GROUP.sub(lambda m: "{" + m.group(1) + "}", text)
        assert template.startswith("/api/v2/"), template
        template = template.removeprefix("/api/v2")
        actions = getattr(pattern.callback, "actions", {})
        methods = frozenset(m.upper() for m in actions)
        filterset = getattr(pattern.callback.cls, "filterset_class", None)  # type: ignore[attr-defined]
        filters = frozenset(filterset.base_filters if filterset else ())
        routes.append(Route(template, names, methods, actions.get("get") == "list", filters))
    assert routes, "no organization-scoped routes found"
    return routes
