"""Output serializers compile their plan once per class, from a template with no context:
each rendering sees its own context, and no class keeps a rendering's context alive."""

import gc
import weakref
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
