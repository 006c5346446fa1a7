"""Output serializers compile their plan once per class, from a template with no context:
each rendering sees its own context, and no class keeps a rendering's context alive."""

import gc
import weakref
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from rest_framework import serializers

from hyperrep.api.serializers import OutputSerializer


class Request:
    def __init__(self, user: str) -> None:
        self.user = user


class GreetingSerializer(OutputSerializer):
    name = serializers.CharField()
    greeting = serializers.SerializerMethodField()

    def get_greeting(self, row: Any) -> str:
        return f"{self.context['request'].user} greets {row.name}"


class OuterSerializer(OutputSerializer):
    inner = GreetingSerializer(source="*")
    rows = GreetingSerializer(many=True)


def render(serializer_class: type[OutputSerializer], row: Any, request: Request) -> Any:
    return serializer_class(row, context={"request": request}).data


def test_method_fields_read_the_context_of_each_rendering() -> None:
    row = SimpleNamespace(name="Ann")
    assert render(GreetingSerializer, row, Request("first"))["greeting"] == "first greets Ann"
    assert render(GreetingSerializer, row, Request("second"))["greeting"] == "second greets Ann"
    listed = GreetingSerializer([row, row], many=True, context={"request": Request("third")})
    assert [item["greeting"] for item in listed.data] == ["third greets Ann"] * 2


def test_nested_serializers_read_the_context_of_each_rendering() -> None:
    row = SimpleNamespace(name="Bo", rows=[SimpleNamespace(name="Cy")])
    for user in ("first", "second"):
        data = render(OuterSerializer, row, Request(user))
        assert data["inner"]["greeting"] == f"{user} greets Bo"
        assert data["rows"] == [{"name": "Cy", "greeting": f"{user} greets Cy"}]


def test_no_class_keeps_a_rendering_alive() -> None:
    class FreshSerializer(OuterSerializer):  # its first rendering is this one
        pass

    request = Request("gone")
    render(FreshSerializer, SimpleNamespace(name="Di", rows=[]), request)
    kept = weakref.ref(request)
    del request
    gc.collect()
    assert kept() is None


def every_field() -> dict[str, serializers.Field]:
    return {
        "text": serializers.CharField(allow_null=True),
        "choice": serializers.ChoiceField(choices=["a", "b"]),
        "number": serializers.IntegerField(),
        "ratio": serializers.FloatField(),
        "flag": serializers.BooleanField(),
        "when": serializers.DateTimeField(),
        "document": serializers.JSONField(),
        "texts": serializers.ListField(child=serializers.CharField()),
        "numbers": serializers.ListField(child=serializers.IntegerField()),
    }


# The same fields, rendered by the compiled plan and by DRF's own Serializer.
EverythingSerializer = type("EverythingSerializer", (OutputSerializer,), every_field())
DRFEverythingSerializer = type("DRFEverythingSerializer", (serializers.Serializer,), every_field())


def test_the_plan_renders_what_drfs_fields_render() -> None:
    rows = [
        SimpleNamespace(
            text=text,
            choice="a",
            number=number,
            ratio=ratio,
            flag=flag,
            when=datetime(2024, 5, 1, 10, 0, 0, micro, tzinfo=UTC),
            document={"a": [1, None]},
            texts=texts,
            numbers=["3", 4],
        )
        # Values of other types than the field's: DRF's conversion of each (a bool is 1).
        for text, micro, texts, number, ratio, flag in [
            ("x", 0, [], 7, 0.25, True),
            (None, 123456, ["a@b.example", "c@d.example"], True, 1, "false"),
            ("", 5, ["a", 1, None], "5", "2.5", 0),  # not all text: each item as DRF's
        ]
    ]
    for row in rows:
        ours = dict(EverythingSerializer(row).data)
        theirs = dict(DRFEverythingSerializer(row).data)
        assert ours == theirs


def test_a_list_renders_each_row_as_the_child_renders_one() -> None:
    class Shouting(GreetingSerializer):
        def to_representation(self, instance: Any) -> dict[str, Any]:
            return {"name": instance.name.upper()}

    rows = [SimpleNamespace(name="Ann"), SimpleNamespace(name="Bo")]
    context = {"request": Request("me")}
    assert GreetingSerializer(rows, many=True, context=context).data == [
        {"name": "Ann", "greeting": "me greets Ann"},
        {"name": "Bo", "greeting": "me greets Bo"},
    ]
    assert Shouting(rows, many=True, context=context).data == [{"name": "ANN"}, {"name": "BO"}]
