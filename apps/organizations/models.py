"""The tenant, and the base every tenant-owned model builds on."""

from typing import Any, Self

from django.db import models

from hyperrep.api import ids
from hyperrep.api.exceptions import InvalidValue


class Organization(models.Model):
    public_id = ids.PublicIdField(prefix="org", unique=True)
    name = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"


class TenantQuerySet(models.QuerySet):
    """Every read of tenant rows starts from `for_org`."""

    def for_org(self, organization: Organization) -> Self:
        return self.filter(organization=organization)

    def by_public_id(self, value: object, name: str) -> Any:
        """The row with this public id, or None; `400 Invalid <name>` when no row of this
        model could have such an id."""
        prefix = self.model._meta.get_field("public_id").prefix  # type: ignore[union-attr]
        return self.filter(public_id=ids.check(value, prefix=prefix, name=name)).first()

    def resolve_reference(self, value: object, name: str) -> Any:
        """Resolve an id given in a request body: `400 Invalid <name>` unless it names a row
        of this (already organization-scoped) queryset."""
        row = self.by_public_id(value, name)
        if row is None:
            raise InvalidValue(f"Invalid {name}")
        return row


class TenantModel(models.Model):
    """A row that belongs to one organization.

    Subclasses declare `public_id = ids.PublicIdField(prefix=...)`; the public id is unique
    within the organization. Internal integer keys never leave the server.
    """

    # No index of its own: every tenant table's indexes lead with the organization.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="%(app_label)s_%(class)s_public_id"
            )
        ]
