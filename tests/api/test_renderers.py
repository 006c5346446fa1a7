"""The API's renderer writes exactly what DRF's JSONRenderer writes, or fails as it does."""

import datetime
import decimal
import uuid
from collections import OrderedDict, namedtuple
from typing import Any

import pytest
from django.db import models
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer as DRFJSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from hyperrep.api.renderers import JSONRenderer

OURS, DRFS = JSONRenderer(), DRFJSONRenderer()


def same(data: Any) -> bytes:
    try:
        expected = DRFS.render(data)
    except Exception as refused:
        with pytest.raises(type(refused)):
            OURS.render(data)
        return b""
    rendered = OURS.render(data)
    assert rendered == expected
    return rendered


floats = st.floats(allow_nan=False, allow_infinity=False)
small_floats = st.builds(
    lambda mantissa, exponent: mantissa * 10.0**exponent,
    st.floats(-10, 10, allow_nan=False),
    st.integers(-330, -3),
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-(2**70), 2**70)
    | floats
    | small_floats
    | st.text()
    | st.sampled_from(["\u2028", "a\u2029b", "\x00\x1f\x7f", "1e-5", ".0000", "e-mail"])
)
documents = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=600, deadline=None)
@given(documents)
def test_any_json_document_renders_as_drf_renders_it(data: Any) -> None:
    same(data)


@pytest.mark.parametrize(
    "value",
    [0.1, 1e-4, 1e-05, 1.5e-07, 5e-324, -2.5e-300, 1e16, 1.2345678901234568e17, 1e22, -0.0, 0.0],
)
def test_floats_of_every_magnitude(value: float) -> None:
    assert same({"f": value, "list": [value, -value]}) != b""


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, 10**40])
def test_integers_beyond_64_bits(value: int) -> None:
    assert same({"n": value}) == f'{{"n":{value}}}'.encode()


def test_what_only_looks_like_a_small_float_is_still_the_same() -> None:
    assert same({"a": "1e-5 e-mail 3e-4", "b": "10.00001", "c": 12345}) != b""


def test_line_and_paragraph_separators_are_escaped() -> None:
    text = "a\u2028b\u2029c \u2014 \u2019"  # the dash and the quote start with 0xe2 too
    assert same({"s": text}) == b'{"s":"a\\u2028b\\u2029c \xe2\x80\x94 \xe2\x80\x99"}'


class Status(models.TextChoices):
    OPEN = "open"


class Level(int):
    pass


Point = namedtuple("Point", "x y")


def test_what_drfs_encoder_writes() -> None:
    moved = OrderedDict([("a", 1), ("b", 2)])
    moved.move_to_end("a")  # items() order differs from the dict's own
    values = {
        "when": datetime.datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=datetime.UTC),
        "naive": datetime.datetime(2024, 5, 1, 10, 0),
        "day": datetime.date(2024, 5, 1),
        "time": datetime.time(10, 0, 0, 5),
        "span": datetime.timedelta(seconds=90),
        "price": decimal.Decimal("12.50"),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "status": Status.OPEN,
        "level": Level(3),
        "point": Point(1, 2),
        "tuple": (1, "a"),
        "set": {1},
        "bytes": b"raw",
        "moved": moved,
        "returned": ReturnDict({"x": 1}, serializer=None),  # type: ignore[call-overload]
        "many": ReturnList([{"x": 1}], serializer=None),  # type: ignore[call-overload]
    }
    same(values)
    for name, value in values.items():
        same({name: value})


@pytest.mark.parametrize(
    "data",
    [
        {1: "a"},  # a key json.dumps turns into a string
        {None: 1, True: 2, 1.5: 3},
        {"a": object()},  # both refuse: nothing can write it
        {"a": "\ud800"},  # a lone surrogate: both fail to encode
        None,
    ],
)
def test_what_orjson_cannot_write_is_drfs_answer(data: Any) -> None:
    same(data)
