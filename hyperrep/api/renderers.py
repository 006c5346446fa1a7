"""The one JSON renderer: DRF's JSONRenderer's bytes, written by orjson.

DRF writes `json.dumps(data, cls=DRF's encoder, ensure_ascii=False, separators=(",", ":"),
allow_nan=False)` with U+2028 and U+2029 escaped. orjson writes the same bytes for every
string, integer of 64 bits, float of at least 1e-4 in magnitude, list and dict, in a fifth of
the time on a page of 500 messages. Where it would write something else, or cannot write it
at all, the answer is DRF's own rendering:

- an integer beyond 64 bits, a dict key that is not a string, an object DRF's encoder does
  not know: orjson raises, and json.dumps decides (writes it, or raises as before);
- a float below 1e-4 in magnitude: orjson writes `1e-05` as `0.00001` and `1.5e-07` as
  `1.5e-7`. Output that holds `.0000`, or a digit followed by `e-`, is rendered again by
  json.dumps; text that only looks like such a float costs that second rendering, never a
  difference (tests/api/test_renderers.py checks floats of every magnitude). Two literal
  scans, not one regular expression: a pattern that starts with a class of characters is
  tried at every digit, 20 times slower on a page of 500 messages;
- subclasses of dict, list, tuple and str (DRF's ReturnDict, a TextChoices member) are
  written as json.dumps writes them: a dict's items in the order its items() gives, a str's
  characters; datetimes, Decimals and UUIDs by DRF's encoder, as before.

NaN and infinities, which json.dumps refuses (a 500) and orjson writes as null, never reach
it: the parser refuses them in bodies (hyperrep/api/parsers.py) and the database holds none.
"""

import re
from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer as DRFJSONRenderer

_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
_EXPONENT = re.compile(rb"e-")
_DIGITS = frozenset(b"0123456789")
_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


class JSONRenderer(DRFJSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        # The negotiation (hyperrep/api/negotiation.py) never asks for an indent.
        try:
            rendered = orjson.dumps(data, default=self._default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        if b".0000" in rendered or any(
            rendered[found.start() - 1] in _DIGITS for found in _EXPONENT.finditer(rendered)
        ):
            return super().render(data, accepted_media_type, renderer_context)
        if b"\xe2" not in rendered:  # the first byte of both separators in UTF-8 (a memchr)
            return rendered
        return rendered.replace(_LINE_SEPARATOR, b"\\u2028").replace(
            _PARAGRAPH_SEPARATOR, b"\\u2029"
        )

    def _default(self, value: Any) -> Any:
        if isinstance(value, dict):
            return dict(value.items())
        if isinstance(value, list | tuple):
            return list(value)
        if isinstance(value, str):
            return str.__str__(value)
        if isinstance(value, int):
            raise TypeError("an int subclass: json.dumps writes it")  # IntEnum and the like
        return self.encoder_class().default(value)
