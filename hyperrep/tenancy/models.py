"""The one core of tenancy: every table whose rows belong to an organization builds on
`TenantModel`, and its default manager refuses to read without an organization.

- `Model.objects.for_org(organization)` is how every read starts. Followed at once by
  `by_public_id` (or `get_by_public_id`, `resolve_reference`), as a nested route finds its
  parent, it is one query compiled once per model and connection (hyperrep/compiled.py),
  the same SQL.
- `Model.objects.unscoped()` is a deliberate read across organizations (the admin's
  superuser views, exports, the worker's claim of due rows): rare enough to grep.
- A row's own relations (`contact.conversations.all()`, a prefetch) read through the row,
  which already belongs to one organization, and need neither; so does a correlated
  subquery (`Subquery(...filter(sale=OuterRef("pk")))`), through its outer row.
- Anything else that reaches the database (iterating, `count()`, `exists()`, `update()`,
  `delete()`, a subquery) raises `UnscopedQuery`: a forgotten scope is a crash in the tests,
  never another tenant's rows in a response. A query whose conditions pin one organization
  passes too, which is what Django's own unique-constraint checks write.

The base manager (`Model._base_manager`, which Django uses to follow a foreign key, save a
row, refresh it and collect cascades) stays plain: each of those already names its row.
Migrations see plain managers as well.

`PublicIdModel` adds the public id's uniqueness within the organization, for the tables the
API names by id; a tenant table need not have one.
"""

from functools import cache
from typing import Any, Self, cast

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.expressions import Col
from django.db.models.lookups import Exact
from django.db.models.sql.where import AND
from django.utils.text import capfirst

from hyperrep import ids, rows
from hyperrep.compiled import CompiledQuery
from hyperrep.errors import InvalidValue, NotFound


class UnscopedQuery(Exception):
    """A read of tenant rows that names no organization. A bug, never a user's error."""


def _pins_one_organization(query: Any) -> bool:
    """Whether the query's conditions, ANDed at the top, include `organization = <value>`
    on its own table."""
    where = query.where
    if where.connector != AND or where.negated:
        return False
    return any(
        isinstance(child, Exact)
        and isinstance(child.lhs, Col)
        and child.lhs.alias == query.base_table
        and child.lhs.target.name == "organization"
        and child.rhs is not None
        for child in where.children
    )


class TenantQuerySet(models.QuerySet):
    _unscoped = False
    # The organization's primary key, set by TenantManager.for_org on the queryset it
    # returns and not copied to a clone (filter(), all(), ...): a queryset with nothing but
    # the organization on it, whose by_public_id (a nested list's parent, every request of
    # one) is then a compiled query (hyperrep/compiled.py).
    _only_organization: Any = None

    def for_org(self, organization: Any) -> Self:
        """The organization's rows (an Organization or its primary key)."""
        return self.filter(organization=organization)

    def unscoped(self) -> Self:
        """Every organization's rows, deliberately."""
        clone = self.all()
        clone._unscoped = True
        return clone

    def by_public_id(self, value: object, name: str) -> Any:
        """The row with this public id, or None; `InvalidValue("Invalid <name>")` when no row
        of this model could have such an id."""
        prefix = self.model._meta.get_field("public_id").prefix  # type: ignore[union-attr]
        public_id = ids.check(value, prefix=prefix, name=name)
        if self._only_organization is not None:  # Model.objects.for_org(o), nothing else
            found = _public_id_lookup(self.model).instances(
                self.db, organization=self._only_organization, public_id=public_id
            )
            return found[0] if found else None
        return self.filter(public_id=public_id).first()

    def get_by_public_id(self, value: object, name: str) -> Any:
        """The row with this public id: `InvalidValue("Invalid <name>")` for an id that cannot
        be valid, `NotFound("<Resource> not found")` for one not in this queryset."""
        row = self.by_public_id(value, name)
        if row is None:
            raise NotFound(f"{capfirst(self.model._meta.verbose_name)} not found")
        return row

    def resolve_reference(self, value: object, name: str) -> Any:
        """Resolve an id given in a request body: `InvalidValue("Invalid <name>")` unless it
        names a row of this (already organization-scoped) queryset."""
        row = self.by_public_id(value, name)
        if row is None:
            raise InvalidValue(f"Invalid {name}")
        return row

    def rows(self) -> Self:
        """The same query, its results rows rather than model instances (hyperrep/rows.py);
        its Prefetch lookups fill the rows' lists, one query each for all of them."""
        clone = self._chain()  # type: ignore[attr-defined]
        clone._iterable_class = rows.RowIterable
        return cast(Self, clone)

    def _prefetch_related_objects(self) -> None:
        if self._iterable_class is not rows.RowIterable:
            return super()._prefetch_related_objects()  # type: ignore[misc]
        lookups = tuple(self._prefetch_related_lookups)  # type: ignore[attr-defined]
        rows.prefetch(self.model, cast(list[Any], self._result_cache), lookups)
        self._prefetch_done = True
        return None

    # -- the guard ------------------------------------------------------------------------------

    def _clone(self) -> Self:
        clone = super()._clone()  # type: ignore[misc]
        clone._unscoped = self._unscoped
        return clone

    def _check_scope(self) -> None:
        if (
            self._unscoped
            or "instance" in self._hints  # type: ignore[attr-defined]  # a related row's
            or self.query.is_empty()
            or _pins_one_organization(self.query)
        ):
            return
        name = self.model.__name__
        raise UnscopedQuery(
            f"{name} rows read without an organization: start from "
            f"{name}.objects.for_org(organization), or say .unscoped() for a deliberate "
            "read across organizations"
        )

    def __repr__(self) -> str:  # tracebacks and debuggers call it: it must not raise
        try:
            self._check_scope()
        except UnscopedQuery:
            return f"<{type(self).__name__} of {self.model.__name__} without an organization>"
        return super().__repr__()

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._check_scope()
        super()._fetch_all()

    def iterator(self, *args: Any, **kwargs: Any) -> Any:
        self._check_scope()
        return super().iterator(*args, **kwargs)

    def count(self) -> int:
        self._check_scope()
        return super().count()

    def exists(self) -> bool:
        self._check_scope()
        return super().exists()

    def contains(self, obj: Any) -> bool:
        self._check_scope()
        return super().contains(obj)

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._check_scope()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._check_scope()
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._check_scope()
        return super().delete()

    def explain(self, *args: Any, **kwargs: Any) -> str:
        self._check_scope()
        return super().explain(*args, **kwargs)

    def resolve_expression(self, *args: Any, **kwargs: Any) -> Any:  # `pk__in=<queryset>`
        self._check_scope()
        return super().resolve_expression(*args, **kwargs)

    resolve_expression.queryset_only = True  # type: ignore[attr-defined]


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    def for_org(self, organization: Any) -> TenantQuerySet:
        """The organization's rows (an Organization or its primary key)."""
        queryset: TenantQuerySet = self.get_queryset().for_org(organization)
        pk = organization.pk if isinstance(organization, models.Model) else organization
        # Not a related manager's, whose queryset has more; an organization given as a row or
        # its key, not as an expression or a queryset.
        if type(self) is TenantManager and type(pk) is int:
            queryset._only_organization = pk
        return queryset


@cache
def _public_id_lookup(model: type[models.Model]) -> CompiledQuery:
    """`Model.objects.for_org(organization).by_public_id(...)` as `.first()` sends it,
    compiled: from the plain TenantManager's queryset, as its for_org marks."""

    def build(organization: int, public_id: str) -> Any:
        queryset: TenantQuerySet = (
            TenantQuerySet(model=model)
            .filter(organization=organization)
            .filter(public_id=public_id)
        )
        return (queryset if queryset.ordered else queryset.order_by("pk"))[:1]

    return CompiledQuery(build)


class TenantModel(models.Model):
    """A row that belongs to one organization. Internal integer keys never leave the server."""

    # No index of its own: every tenant table's indexes lead with the organization.
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )

    objects = TenantManager()

    class Meta:
        abstract = True

    def clean(self) -> None:
        """The admin's guard against relations across tenants, for every model: a related
        row of another organization is a form error on that field. (The API and imports
        resolve related ids within the organization instead.)"""
        super().clean()
        errors = {}
        for field in self._meta.concrete_fields:
            if not field.many_to_one or field.name == "organization":
                continue
            related = field.related_model
            if getattr(self, field.attname) is None or not (
                isinstance(related, type) and issubclass(related, TenantModel)
            ):
                continue
            if getattr(self, field.name).organization_id != self.organization_id:
                errors[field.name] = f"{capfirst(field.verbose_name)} of another organization."
        if errors:
            raise ValidationError(errors)


class PublicIdModel(TenantModel):
    """A tenant row the API names by its public id, unique within the organization.
    Subclasses declare `public_id = ids.PublicIdField(prefix=...)`."""

    class Meta(TenantModel.Meta):
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="%(app_label)s_%(class)s_public_id"
            )
        ]
