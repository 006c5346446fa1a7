from email.utils import formataddr, parseaddr
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from apps.companies.domains import normalize_domain
from apps.delivery import transports
from apps.organizations.models import Channel, ChannelKind, Organization
from hyperrep import phones
from hyperrep.errors import ValidationFailed

# Left as it is: a channel_configure argument not given.
UNCHANGED = object()


def organization_create(*, name: str) -> Organization:
    return Organization.objects.create(name=name)


def channel_sender(kind: str, sender: str) -> str:
    """The sender as a channel keeps it: for email an address with an optional display name,
    for text a number in E.164. ValidationFailed(field="from") otherwise."""
    if kind == ChannelKind.EMAIL:
        name, address = parseaddr(sender)
        try:
            validate_email(address)
        except DjangoValidationError:
            raise ValidationFailed(
                "Enter an address, optionally with a name: Acme <sales@acme.example>.",
                field="from",
            ) from None
        return formataddr((name, address))
    if kind == ChannelKind.TEXT:
        e164 = phones.to_e164(sender)
        if e164 is None:
            raise ValidationFailed(phones.INVALID, field="from")
        return e164
    raise ValidationFailed("A form channel sends nothing: it has no sender.", field="from")


@transaction.atomic
def channel_configure(
    *,
    organization: Organization,
    kind: str,
    sender: object = UNCHANGED,
    transport: object = UNCHANGED,
    reply_domain: object = UNCHANGED,
    allowed_origins: object = UNCHANGED,
    enabled: object = UNCHANGED,
) -> Channel:
    """Create or update the organization's channel of `kind`. Every value given is checked
    (a transport URL that cannot be parsed is refused with the reason) and nothing is saved
    unless all are good. An empty sender, transport or reply domain clears it."""
    if kind not in ChannelKind.values:
        raise ValidationFailed(f"Must be one of {', '.join(ChannelKind.values)}.", field="kind")
    channel = Channel.objects.for_org(organization).select_for_update().filter(
        kind=kind
    ).first() or Channel(organization=organization, kind=kind)
    if sender is not UNCHANGED:
        channel.sender = channel_sender(kind, str(sender)) if sender else ""
    if transport is not UNCHANGED:
        channel_transport(channel, kind, str(transport or ""))
    if reply_domain is not UNCHANGED:
        channel.reply_domain = channel_reply_domain(kind, str(reply_domain or ""))
    if allowed_origins is not UNCHANGED:
        channel.allowed_origins = channel_allowed_origins(kind, allowed_origins)
    if enabled is not UNCHANGED:
        channel.enabled = bool(enabled)
    channel.updated_at = timezone.now()
    channel.save()
    return channel


def channel_transport(channel: Channel, kind: str, url: str) -> None:
    """Give the channel this transport (empty: none), once `transports.parse` accepts it
    (ValidationFailed(field="transport") with the reason otherwise)."""
    url = url.strip()
    if url:
        transports.parse(url, kind=kind)
    channel.set_transport(url, shown=transports.redact(url))


def channel_allowed_origins(kind: str, values: object) -> list[str]:
    """Origins as a form channel keeps them, `scheme://host[:port]`, each once."""
    if isinstance(values, str):
        values = values.replace(",", " ").split()
    if not isinstance(values, list | tuple):
        raise ValidationFailed(
            "Enter origins such as https://acme.example.", field="allowed_origins"
        )
    origins: list[str] = []
    for value in values:
        if kind != ChannelKind.FORM:
            raise ValidationFailed("Only a form channel takes origins.", field="allowed_origins")
        origin = origin_of(str(value))
        if origin is None or origin.rstrip("/") != str(value).strip().rstrip("/").lower():
            raise ValidationFailed(
                f"{value} is not an origin such as https://acme.example (no path).",
                field="allowed_origins",
            )
        if origin not in origins:
            origins.append(origin)
    return origins


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL, None for anything else."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  # raises for a port that is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.rpartition('@')[2].lower()}"


def channel_reply_domain(kind: str, value: str) -> str | None:
    if not value.strip():
        return None
    if kind != ChannelKind.EMAIL:
        raise ValidationFailed(
            "Only an email channel takes replies by email.", field="reply_domain"
        )
    try:
        return normalize_domain(value)
    except ValueError:
        raise ValidationFailed(
            "Enter a domain name such as example.com.", field="reply_domain"
        ) from None
