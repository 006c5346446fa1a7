"""Input-validation pieces shared by every resource's serializers."""

from collections.abc import Callable
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from hyperrep import custom_fields, phones
from hyperrep.errors import ValidationFailed


class InputSerializer(serializers.Serializer):
    # A request body: a JSON object whose every key is a declared field. Unknown fields are
    # 422, so nothing is assigned silently and the organization, ids and timestamps can never
    # come from a body. (Comments, not a docstring: the OpenAPI generator would publish a
    # docstring as the description of every body schema.)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            return super().to_internal_value(data)  # DRF's "Expected a dictionary" error
        # Every problem of the body at once, in the order of the declared fields: wrong types
        # (DRF's CharField would turn a number into text, its BooleanField takes "yes" and 1;
        # a body is typed JSON), invalid values, then fields the endpoint does not know.
        errors: dict[str, Any] = {}
        try:
            validated = super().to_internal_value(data)
        except serializers.ValidationError as invalid:
            errors = dict(invalid.detail)  # type: ignore[arg-type]
        for name, field in self.fields.items():
            value = data.get(name)
            if isinstance(field, serializers.CharField) and not isinstance(value, str | None):
                errors[name] = ["Not a valid string."]
            elif isinstance(field, serializers.BooleanField) and not isinstance(value, bool | None):
                errors[name] = ["Must be a valid boolean."]
        ordered: dict[str, Any] = {n: errors[n] for n in self.fields.keys() if n in errors}  # noqa: SIM118
        ordered.update({k: v for k, v in errors.items() if k not in self.fields})
        ordered.update({name: ["Unknown field."] for name in sorted(set(data) - set(self.fields))})
        if ordered:
            raise serializers.ValidationError(ordered)
        return validated

    def create(self, validated_data: Any) -> Any:
        raise NotImplementedError("input serializers only validate; services write")

    def update(self, instance: Any, validated_data: Any) -> Any:
        raise NotImplementedError("input serializers only validate; services write")


@extend_schema_field(custom_fields.SCHEMA)
class CustomFieldsField(serializers.Field):
    """Custom fields (hyperrep/custom_fields.py): a flat JSON object of at most 50 keys."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        try:
            return custom_fields.check_custom_fields(data)
        except ValidationFailed as invalid:
            raise serializers.ValidationError(invalid.message) from None

    def to_representation(self, value: Any) -> Any:
        return value


class PhoneNumberField(serializers.CharField):
    """A phone number as people write one, kept as given; it must be a possible number
    (hyperrep/phones.py)."""

    schema_format = "phone"  # OpenAPI (hyperrep/api/schema.py): a rule a pattern cannot say

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value and phones.to_e164(value) is None:
            raise serializers.ValidationError(phones.INVALID)
        return value


class ReferenceField(serializers.CharField):
    """An id of another row in a request body. Its shape and existence are checked by the
    service, inside the organization (`400 Invalid <name>`), not here."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(allow_blank=True, trim_whitespace=False, **kwargs)


def format_datetime(value: datetime) -> str:
    """RFC 3339 in UTC with a Z; microseconds only when non-zero."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# Fields whose model values are already what JSON needs (str, dict, list, None).
_VERBATIM = (serializers.CharField, serializers.ChoiceField, serializers.JSONField)
# (key, read the value from the row, convert it, method field's name, nested serializer).
_Step = tuple[
    str,
    Callable[[Any], Any],
    Callable[[Any], Any] | None,
    str | None,
    "tuple[type[OutputSerializer], bool] | None",
]


def _same(value: Any) -> Any:
    return value


def _texts(values: list[Any]) -> list[Any]:
    """A ListField of text, as DRF renders it (`str()` of each item but None), without its
    call per item when the items are text already, as a JSON column of addresses holds."""
    if all(type(value) is str for value in values):
        return values
    return [None if value is None else str(value) for value in values]


class OutputSerializer(serializers.Serializer):
    # A read-only rendering of a row. The declared fields document the shape (OpenAPI) and
    # are compiled once per class into steps, so that rendering a page of 500 rows does not
    # pay DRF's per-field machinery 500 times over. The plan is compiled from a template
    # instance that has no context and renders nothing; what needs the live serializer (a
    # method field, which may read self.context; a nested serializer) is called on it.
    # (Comments, not a docstring: the OpenAPI generator would publish it as every schema's
    # description.)

    _plans: ClassVar[dict[type, list[_Step]]] = {}

    @classmethod
    def _plan(cls) -> list[_Step]:
        plan = cls._plans.get(cls)
        if plan is None:
            plan = [cls._step(name, field) for name, field in cls().fields.items()]
            cls._plans[cls] = plan
        return plan

    @staticmethod
    def _step(name: str, field: serializers.Field) -> _Step:
        source = field.source or name  # bound fields always have a source
        if isinstance(field, serializers.SerializerMethodField):
            return name, _same, None, field.method_name, None
        read: Callable[[Any], Any] = _same if source == "*" else attrgetter(source)
        if isinstance(field, serializers.ListSerializer) and isinstance(
            field.child, OutputSerializer
        ):
            return name, read, None, None, (type(field.child), True)
        if isinstance(field, OutputSerializer):
            return name, read, None, None, (type(field), False)
        if "." in source:
            return name, field.get_attribute, field.to_representation, None, None
        convert: Callable[[Any], Any] | None = field.to_representation
        if isinstance(field, serializers.DateTimeField):
            convert = format_datetime
        elif isinstance(field, _VERBATIM):
            convert = None
        elif isinstance(field, serializers.ListField) and isinstance(
            field.child, serializers.CharField
        ):
            convert = _texts
        return name, read, convert, None, None

    def to_representation(self, instance: Any) -> dict[str, Any]:
        row = {}
        for name, read, convert, method, nested in self._plans.get(type(self)) or self._plan():
            if method is not None:
                row[name] = getattr(self, method)(instance)
                continue
            value = read(instance)
            if value is None:
                row[name] = None
            elif nested is not None:
                row[name] = self._render_nested(name, nested, value)
            else:
                row[name] = value if convert is None else convert(value)
        return row

    def _render_nested(
        self, name: str, nested: "tuple[type[OutputSerializer], bool]", value: Any
    ) -> Any:
        """A nested serializer's rendering, by one child per field of this live serializer,
        which shares its context."""
        children: dict[str, OutputSerializer] = self.__dict__.setdefault("_live_children", {})
        child = children.get(name)
        if child is None:
            child = children[name] = nested[0](context=self.context)
        if nested[1]:
            return [child.to_representation(item) for item in value]
        return child.to_representation(value)
