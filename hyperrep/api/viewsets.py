"""The bases of every API endpoint.

`ApiViewSet` is what every endpoint shares: after authentication, the query string is
checked against the parameters the action knows (a typo such as `start_dat` is a 422, never
an unfiltered answer). `OrganizationScopedViewSet` is the one base for every endpoint under
an organization:

The organization comes from the URL and is resolved right after authentication, in
`initial()`; every queryset starts from it. Subclasses declare their model, output
serializer, ordering and selector, and take their actions from DRF's mixins (`list`,
`retrieve`); they cannot override the methods that scope data (`initial`, `get_queryset`,
`get_object`): defining one is a TypeError at import time.

A nested collection (a contact's conversations, a conversation's messages) declares its
`parent`: the parent's id in the URL is resolved inside the organization right after it
(`404 Contact not found`, ...), and the rows are narrowed to that parent's.
"""

from collections.abc import Callable
from typing import Any, ClassVar, cast

from django.db.models import Model
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.viewsets import GenericViewSet

from apps.keys.models import ApiKey
from apps.organizations.models import Organization
from apps.organizations.selectors import organization_get
from hyperrep.api.filters import check_query_string
from hyperrep.api.pagination import PAGE_PARAMETERS
from hyperrep.tenancy.models import TenantModel, TenantQuerySet

SEALED = ("initial", "get_queryset", "get_object")


class ApiViewSet(GenericViewSet):
    # What the reference says of each action (hyperrep/api/schema.py): every view, its own.
    descriptions: ClassVar[dict[str, str]] = {}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication and permissions first
        if self.action is None:
            return  # a method the route does not have: DRF answers 405 next
        check_query_string(request, self.query_parameters())

    def query_parameters(self) -> frozenset[str]:
        """The names this request's action takes in its query string: a list's page and
        filters; nothing elsewhere, unless a view says otherwise."""
        if self.action != "list":
            return frozenset()
        names = set(PAGE_PARAMETERS) if self.paginator is not None else set()
        filterset = getattr(self, "filterset_class", None)
        return frozenset(names | set(filterset.base_filters if filterset else ()))


class OrganizationScopedViewSet(ApiViewSet):
    model: ClassVar[type[TenantModel]]
    # Reads the organization's rows: `selector(organization=...) -> QuerySet`.
    selector: ClassVar[Callable[..., TenantQuerySet]]
    # A total order ending in the internal id (the keyset of every page).
    ordering: ClassVar[tuple[str, ...]] = ("-created_at", "-id")
    # (parent model, the field of `model` pointing at it), for nested collections.
    parent: ClassVar[tuple[type[TenantModel], str] | None] = None
    lookup_value_regex = "[^/]+"
    organization: Organization
    parent_object: TenantModel | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        overridden = [name for name in SEALED if name in cls.__dict__]
        if overridden:
            raise TypeError(f"{cls.__name__} must not override {', '.join(overridden)}")
        if "model" in cls.__dict__:
            cls.lookup_url_kwarg = f"{cls.model._meta.model_name}_id"
            # Read by the OpenAPI generator only: get_queryset() never falls back to it.
            cls.queryset = cls.model.objects.none()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication, then the query string
        if self.action is None:
            return  # a method the route does not have: DRF answers 405 next
        self.organization = organization_get(
            api_key=cast(ApiKey, request.auth), organization_id=kwargs["organization_id"]
        )
        if self.parent is not None:
            parent_model, _field = self.parent
            name = f"{parent_model._meta.model_name}_id"
            self.parent_object = parent_model.objects.for_org(self.organization).get_by_public_id(
                kwargs[name], name
            )

    def get_queryset(self) -> TenantQuerySet:
        queryset = type(self).selector(organization=self.organization)
        if self.parent is not None:
            queryset = queryset.filter(**{self.parent[1]: self.parent_object})
        return queryset

    def get_object(self) -> Model:
        assert self.lookup_url_kwarg is not None
        return self.get_queryset().get_by_public_id(
            self.kwargs[self.lookup_url_kwarg], self.lookup_url_kwarg
        )

    # -- helpers for writes -----------------------------------------------------------------

    def read_body(self, serializer_class: type[Serializer]) -> dict[str, Any]:
        """The request body validated by an input serializer (422 otherwise)."""
        if self.request.META.get("CONTENT_LENGTH", "0") not in ("", "0") and not (
            self.request.content_type
        ):
            # DRF would read a body without a Content-Type as empty: refuse it instead.
            raise UnsupportedMediaType("", detail="Content-Type must be application/json")
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def respond_with(self, instance: Model) -> Response:
        """Render a written row exactly as a read of it would."""
        return Response(self.get_serializer(self.get_queryset().get(pk=instance.pk)).data)
