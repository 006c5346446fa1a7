"""The request body parser: strict JSON in UTF-8, or a clear 400 (415 for another charset,
413 past API_MAX_BODY_BYTES).

Rejects what would otherwise surface later as a database error or a crash: bad UTF-8, NaN,
Infinity and numbers too large for a float, NUL characters and lone surrogates (no
PostgreSQL text can hold them), and documents nested deeper than any request of this API
needs (a RecursionError in waiting).
"""

import json
import math
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.utils.http import parse_header_parameters
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import BaseParser

from hyperrep.api.exceptions import PayloadTooLarge

MAX_DEPTH = 32


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: no database column or JSON document can hold it
        raise ValueError(f"{text} is out of range")
    return value


def check_structure(document: Any, *, surrogates_possible: bool = True) -> None:
    """Walk the parsed document without recursion, checking depth, NUL characters and lone
    surrogates (`"\\ud800"` parses, but no UTF-8 text can hold it)."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise ParseError("NUL characters are not allowed")
            if surrogates_possible and not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    raise ParseError("Strings must be valid Unicode text") from None
        elif isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels")
            if isinstance(value, dict):
                stack.extend((key, depth) for key in value)
                stack.extend((item, depth + 1) for item in value.values())
            else:
                stack.extend((item, depth + 1) for item in value)


class StrictJSONParser(BaseParser):
    media_type = "application/json"

    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        _type, parameters = parse_header_parameters(media_type or "")
        if parameters.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
            # Decoded as UTF-8 regardless, a UTF-16 body would be garbage or a wrong value.
            raise UnsupportedMediaType(media_type or "")
        limit = settings.API_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("Request body is not valid UTF-8") from None
        try:
            document = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
        except ValueError as exc:
            raise ParseError(f"Malformed JSON: {exc}") from None
        # Only a \uD8xx-\uDFxx escape can produce a lone surrogate: skip that check otherwise.
        check_structure(document, surrogates_possible="\\ud" in text.lower())
        return document
