"""Domain names as the server keeps them (a company's domain, a channel's reply domain)."""

import re

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def normalize_domain(raw: str) -> str:
    """`https://WWW.Acme.com:8443/about?x#y` -> `www.acme.com`; ValueError if that is not a
    domain name with a dot."""
    value = raw.strip().lower()
    value = value.split("://", 1)[1] if "://" in value else value.removeprefix("//")
    value = re.split(r"[/?#]", value, maxsplit=1)[0]
    value = value.rsplit("@", 1)[-1]  # user:password@
    value = value.split(":", 1)[0]  # port
    value = value.rstrip(".")  # the root label of a fully qualified name
    try:
        value = value.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(value) from None
    labels = value.split(".")
    if len(labels) < 2 or len(value) > 253 or not all(_LABEL.fullmatch(x) for x in labels):
        raise ValueError(value)
    return value
