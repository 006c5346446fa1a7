from email.utils import formataddr, parseaddr

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
