"""Input-validation pieces shared by every resource's serializers."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from django.db.models.manager import BaseManager
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
_VERBATIM = (
    serializers.CharField,
    serializers.ChoiceField,
    serializers.JSONField,
    CustomFieldsField,
)


def _texts(values: list[Any]) -> list[Any]:
    """A ListField of text, as DRF renders it (`str()` of each item but None), without its
    call per item when the items are text already, as a JSON column of addresses holds."""
    if not values or all(type(value) is str for value in values):
        return values
    return [None if value is None else str(value) for value in values]


class OutputListSerializer(serializers.ListSerializer):
    """A page of OutputSerializer rows. DRF binds the child to its list (child.parent), and
    the list holds the page: a cycle, which would keep every page in memory until the
    cyclic collector's next pass. Once the page is rendered, the child lets go of its list,
    and the page is freed with the answer that holds its rendering."""

    @property
    def data(self) -> Any:
        try:
            return super().data
        finally:
            child: Any = self.child
            child.parent = None

    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        # DRF's, with the child's compiled renderer called for each row directly (unless the
        # child renders its own way).
        child: Any = self.child
        if type(child).to_representation is not OutputSerializer.to_representation:
            return super().to_representation(data)
        render = child._renderers.get(type(child)) or child._compile()
        rows = data.all() if isinstance(data, BaseManager) else data
        return [render(child, row) for row in rows]


class OutputSerializer(serializers.Serializer):
    # A read-only rendering of a row (a model instance, or a row of hyperrep/rows.py: both
    # are read by attribute). The declared fields document the shape (OpenAPI) and are
    # compiled once per class into one function, so that rendering a page of 500 rows pays
    # neither DRF's per-field machinery nor a loop over the fields 500 times over. The
    # function is compiled from a template instance that has no context and renders
    # nothing; what needs the live serializer (a method field, which may read self.context;
    # a nested serializer) is called on it. (Comments, not a docstring: the OpenAPI
    # generator would publish it as every schema's description.)

    _renderers: ClassVar[dict[type, Callable[[Any, Any], dict[str, Any]]]] = {}

    class Meta:
        list_serializer_class = OutputListSerializer

    def to_representation(self, instance: Any) -> dict[str, Any]:
        render = self._renderers.get(type(self)) or self._compile()
        return render(self, instance)

    @classmethod
    def _compile(cls) -> Callable[[Any, Any], dict[str, Any]]:
        """`render(self, row) -> dict`: for each field in order, its value read from the row
        (None stays None), then converted, or rendered by a nested serializer or a method.
        Generated source, built only from the class's own declarations. A nested class that
        needs no live serializer (no method field at any depth) is its own function, called
        directly; one that does is rendered by a live child (_render_nested)."""
        lines = ["def render(self, row):"]
        namespace: dict[str, Any] = {"_render_nested": cls._render_nested}
        fields = cls().fields
        for number, (name, field) in enumerate(fields.items()):
            value, source = f"v{number}", field.source or name  # bound fields have one
            if isinstance(field, serializers.SerializerMethodField):
                lines.append(f"    {value} = self.{field.method_name}(row)")
                continue
            if source == "*":
                lines.append(f"    {value} = row")
            elif source.isidentifier():
                lines.append(f"    {value} = row.{source}")
            else:  # a dotted source: DRF's own reading, through the field
                namespace[f"read{number}"] = field.get_attribute
                lines.append(f"    {value} = read{number}(row)")
            many = isinstance(field, serializers.ListSerializer)
            nested = field.child if many else field  # type: ignore[attr-defined]
            if isinstance(nested, OutputSerializer):
                child = type(nested)
                if child._needs_a_live_serializer():
                    namespace[f"nested{number}"] = (child, many)
                    rendered = f"_render_nested(self, {name!r}, nested{number}, {value})"
                else:
                    namespace[f"render{number}"] = child._renderers.get(child) or child._compile()
                    rendered = f"render{number}(None, {value})"
                    if many:
                        rendered = f"[render{number}(None, item) for item in {value}]"
                lines.append(f"    if {value} is not None: {value} = {rendered}")
                continue
            convert, unchanged = cls._conversion(field)
            if convert is not None:
                namespace[f"convert{number}"], namespace[f"kind{number}"] = convert, unchanged
                test = f"{value} is not None"
                if unchanged is not None:  # what the conversion returns as it is
                    test += f" and {value}.__class__ is not kind{number}"
                lines.append(f"    if {test}: {value} = convert{number}({value})")
        row = ", ".join(f"{name!r}: v{number}" for number, name in enumerate(fields))
        lines.append(f"    return {{{row}}}")
        exec(compile("\n".join(lines), f"<{cls.__qualname__} renderer>", "exec"), namespace)  # noqa: S102
        render: Callable[[Any, Any], dict[str, Any]] = namespace["render"]
        cls._renderers[cls] = render
        return render

    @classmethod
    def _needs_a_live_serializer(cls) -> bool:
        """Whether rendering reads the serializer itself: a method field, here or nested."""
        for field in cls().fields.values():
            nested = field.child if isinstance(field, serializers.ListSerializer) else field
            if isinstance(nested, serializers.SerializerMethodField) or (
                isinstance(nested, OutputSerializer) and nested._needs_a_live_serializer()
            ):
                return True
        return False

    @staticmethod
    def _conversion(field: serializers.Field) -> tuple[Callable[[Any], Any] | None, type | None]:
        """How a field's value becomes JSON, and the type of value it returns unchanged:
        DRF's own to_representation, but none where the value is already what it returns
        (text, choices, JSON), and a cheaper equal where there is one."""
        if isinstance(field, serializers.DateTimeField):
            return format_datetime, None
        if isinstance(field, _VERBATIM):
            return None, None
        if isinstance(field, serializers.ListField) and isinstance(
            field.child, serializers.CharField
        ):
            return _texts, None
        kinds = {
            serializers.BooleanField: bool,  # True for True, False for False
            serializers.IntegerField: int,  # int(value): the same int, but a bool is 1 or 0
            serializers.FloatField: float,  # float(value)
        }
        return field.to_representation, kinds.get(type(field))

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
