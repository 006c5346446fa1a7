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

Every request is counted against a budget (hyperrep/ratelimit.py) once its key and
organization are known: the key's per organization, the key's own when the route names no
organization or names one the key cannot reach, the client address's when there is no valid
key. Its headers go on the answer; past it the answer is 429. A `POST` with an
`Idempotency-Key` claims the key last, after every check that writes nothing
(apps/idempotency), then runs in one transaction with the keeping of its answer.
"""

import logging
from collections.abc import Callable
from typing import Any, ClassVar, cast

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Model
from django.http import HttpResponse, HttpResponseBase
from rest_framework.exceptions import APIException, UnsupportedMediaType
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.viewsets import GenericViewSet

from apps.idempotency import services as idempotency
from apps.idempotency.models import IdempotentRequest
from apps.keys.models import ApiKey
from apps.organizations.models import Organization
from apps.organizations.selectors import organization_get
from hyperrep import ratelimit
from hyperrep.api.authentication import OptionalApiKeyAuthentication
from hyperrep.api.exceptions import RateLimitExceeded, database_unavailable, error_response
from hyperrep.api.filters import check_query_string
from hyperrep.api.pagination import PAGE_PARAMETERS
from hyperrep.errors import DomainError, NotFound
from hyperrep.tenancy.models import TenantModel, TenantQuerySet

log = logging.getLogger("hyperrep.api")

SEALED = ("initial", "resolve_organization", "get_queryset", "get_object")


class ApiViewSet(GenericViewSet):
    # What the reference says of each action (hyperrep/api/schema.py): every view, its own.
    descriptions: ClassVar[dict[str, str]] = {}
    # What this request was counted against, for the headers of its answer.
    budget: ratelimit.Verdict | None = None

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            # The answer is final. What the view holds (its request, paginator, serializers,
            # response) points back at it, and the page hangs off those cycles: let go, so
            # that reference counting frees the page once the server has sent it, rather
            # than the cyclic collector, whose passes over pages left behind were the
            # longest pauses of a busy worker (bench/README.md, "the messages p99").
            vars(self).clear()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        try:
            super().initial(request, *args, **kwargs)  # authentication and permissions first
            organization = None if self.action is None else self.resolve_organization(kwargs)
        except (APIException, DomainError):
            self.spend(request, None)  # a refusal counts too (and may become the 429)
            raise
        self.spend(request, organization)
        if self.action is None:
            return  # a method the route does not have: DRF answers 405 next
        check_query_string(request, self.query_parameters())

    def resolve_organization(self, kwargs: dict[str, Any]) -> Organization | None:
        """The organization the route names, if any (OrganizationScopedViewSet)."""
        return None

    def organization_named(self, organization_id: str) -> Organization:
        """The organization of the route: fetched with the key when the key reaches it
        (ApiKeyAuthentication), else organization_get says why not (400, then 404)."""
        fetched = getattr(self.request.successful_authenticator, "organization", None)
        if fetched is not None and fetched.public_id == organization_id:
            return fetched
        return organization_get(
            api_key=cast(ApiKey, self.request.auth), organization_id=organization_id
        )

    def spend(self, request: Request, organization: Organization | None) -> None:
        key = request.auth
        if not isinstance(key, ApiKey):
            scope, who = "api-address", request.META.get("REMOTE_ADDR", "")
        elif organization is None:
            scope, who = "api-key", str(key.pk)
        else:
            scope, who = "api", f"{key.pk}:{organization.pk}"
            request._request.organization_id = organization.public_id  # type: ignore[attr-defined]
        if isinstance(key, ApiKey):  # for the request's log line
            request._request.key_prefix = key.prefix  # type: ignore[attr-defined]
        self.budget = ratelimit.hit(scope, who, settings.API_RATE_LIMIT)
        if self.budget is not None and not self.budget.allowed:
            raise RateLimitExceeded()

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response):
            response.add_post_render_callback(_forget_itself)
        if self.budget is not None:
            for name, value in self.budget.headers().items():
                response[name] = value
            if not self.budget.allowed:
                response["Retry-After"] = str(self.budget.reset)
        return response

    def query_parameters(self) -> frozenset[str]:
        """The names this request's action takes in its query string: a list's page and
        filters; nothing elsewhere, unless a view says otherwise."""
        if self.action != "list":
            return frozenset()
        names = set(PAGE_PARAMETERS) if self.paginator is not None else set()
        filterset = getattr(self, "filterset_class", None)
        return frozenset(names | set(filterset.base_filters if filterset else ()))


def _forget_itself(response: Response) -> None:
    """DRF's rendering puts the answer into its own renderer context (a cycle of one): take
    it out once the bytes are made."""
    response.renderer_context.pop("response", None)  # type: ignore[attr-defined]


class UnknownPath(ApiViewSet):
    """Any path under /api/v2 that no route takes: the JSON 404, with or without a key, and
    counted against the budget of the key (or the address) like any other answer."""

    authentication_classes = [OptionalApiKeyAuthentication]
    permission_classes: list = []
    schema = None

    def resolve_organization(self, kwargs: dict[str, Any]) -> Organization | None:
        raise NotFound("Not found")

    def missing(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFound("Not found")  # never reached: resolve_organization answers first

    @classmethod
    def view(cls) -> Callable[..., Any]:
        methods = ("get", "post", "put", "patch", "delete", "head", "options")
        return cls.as_view(dict.fromkeys(methods, "missing"))


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
    # The idempotency key this request holds while it runs (apps/idempotency), and the
    # transaction its write runs in.
    claim: IdempotentRequest | None = None
    claimed_write: transaction.Atomic

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
        # Authentication, the organization, the budget, then the query string.
        super().initial(request, *args, **kwargs)
        if self.action is None:
            return  # a method the route does not have: DRF answers 405 next
        if self.parent is not None:
            parent_model, _field = self.parent
            name = f"{parent_model._meta.model_name}_id"
            self.parent_object = parent_model.objects.for_org(self.organization).get_by_public_id(
                kwargs[name], name
            )
        if request.method == "POST" and "HTTP_IDEMPOTENCY_KEY" in request.META:
            self.claim = idempotency.begin(
                organization=self.organization,
                api_key=cast(ApiKey, request.auth),
                key=request.META["HTTP_IDEMPOTENCY_KEY"],
                request_fingerprint=idempotency.fingerprint(
                    request.method,
                    request.path,
                    request.META.get("QUERY_STRING", ""),
                    request._request.body,
                ),
            )
            # The claim is committed (a repeat sees it); the write and its kept answer are
            # then one transaction, committed or rolled back together in keep_answer().
            self.claimed_write = transaction.atomic()
            self.claimed_write.__enter__()

    def resolve_organization(self, kwargs: dict[str, Any]) -> Organization:
        self.organization = self.organization_named(kwargs["organization_id"])
        return self.organization

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, idempotency.Replay):
            replay = HttpResponse(exc.body, status=exc.status_code, content_type=exc.content_type)
            replay["Idempotent-Replayed"] = "true"
            return cast(Response, replay)
        try:
            return super().handle_exception(exc)
        except BaseException:
            self.keep_answer(None)  # a crash: nothing is written, the key is free again
            raise

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        return self.keep_answer(response) or response

    def keep_answer(self, response: Response | None) -> Response | None:
        """End the transaction of a request that claimed an idempotency key: an answer
        below 500 is kept with the write, in one commit; a 5xx, a crash (no answer) or a
        commit that fails rolls the write back and lets the key go. Returns the answer to
        send instead when the commit failed."""
        claim, self.claim = self.claim, None
        if claim is None:
            return None
        keep = response is not None and response.status_code < 500
        instead = None
        try:
            if response is not None and keep:
                if isinstance(response, Response):  # not yet rendered
                    response.render()
                idempotency.finish(
                    claim, response.status_code, response.get("Content-Type", ""), response.content
                )
            else:
                transaction.set_rollback(True)
        except DatabaseError:
            keep = False
            transaction.set_rollback(True)
        try:
            self.claimed_write.__exit__(None, None, None)
        except DatabaseError as failed:  # the commit: nothing was written after all
            keep = False
            instead = database_unavailable(failed) or error_response(500, "Internal server error")
        if not keep:
            try:
                idempotency.release(claim)
            except DatabaseError:
                # The database went away: the mark holds until it expires, and a repeat
                # after that runs again (nothing of this request was written).
                log.warning("idempotency key %r not released: the database failed", claim.key)
        return cast(Response | None, instead)

    def get_queryset(self) -> TenantQuerySet:
        queryset = type(self).selector(organization=self.organization)
        if self.parent is not None:
            queryset = queryset.filter(**{self.parent[1]: self.parent_object})
        return queryset

    def paginate_queryset(self, queryset: Any) -> list[Any] | None:
        # A page is read as rows (hyperrep/rows.py): the same SQL, no model instances.
        return super().paginate_queryset(cast(TenantQuerySet, queryset).rows())

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
