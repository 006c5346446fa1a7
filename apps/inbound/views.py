"""The inbound routes. No API key: the channel is named by its inbound token (an unknown
token, or a disabled channel, is the JSON 404), and where the provider signs its requests
the signature is checked (`403 Invalid signature`). A request is parsed (`400` with the
reason otherwise, and kept), stored (events.py), and answered; the worker makes it a
message. Each token has its own budget of requests (INBOUND_RATE_LIMIT).
"""

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import parse_qsl, urljoin

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apps.inbound import esp as esps
from apps.inbound.email import check_email
from apps.inbound.events import (
    Arrival,
    Unparseable,
    channel_for,
    digest_id,
    event_refuse,
    event_store,
    kept_headers,
)
from apps.inbound.form import parse_form
from apps.inbound.models import Source
from apps.inbound.text import (
    EMPTY_TWIML,
    auth_token,
    parse_status,
    parse_text,
    signature_is_valid,
)
from apps.organizations.models import Channel, ChannelKind
from apps.organizations.services import origin_of
from hyperrep import ratelimit
from hyperrep.api.exceptions import error_response

log = logging.getLogger("hyperrep.inbound")
View = Callable[..., HttpResponse]


def inbound(kind: str, *, methods: tuple[str, ...] = ("POST",)) -> Callable[[View], View]:
    """A route of a channel of `kind`: the method checked, the token's budget counted, the
    channel found (404 otherwise) and passed to the view."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def route(request: HttpRequest, token: str, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = error_response(405, f'Method "{request.method}" not allowed.')
                response["Allow"] = ", ".join(methods)
                return response
            budget = ratelimit.hit("inbound", token, settings.INBOUND_RATE_LIMIT)
            if budget is not None and not budget.allowed:
                response = error_response(429, "Rate limit exceeded")
                response["Retry-After"] = str(budget.reset)
                return response
            channel = channel_for(token, kind)
            if channel is None:
                return error_response(404, "Not found")
            return view(request, channel, **kwargs)

        return route

    return decorate


def accepted() -> JsonResponse:
    return error_response(202, "Accepted")  # the errors' compact shape, for a success too


def _arrival(request: HttpRequest, channel: Channel, source: str, body: bytes) -> Arrival:
    return Arrival(
        channel=channel,
        source=source,
        body=body,
        content_type=request.META.get("CONTENT_TYPE", ""),  # with its charset
        headers=kept_headers(request.headers),
    )


def _refused(arrival: Arrival, refusal: Unparseable, status: int = 400) -> JsonResponse:
    event_refuse(arrival, refusal.detail)
    return error_response(status, refusal.detail)


# -- email --------------------------------------------------------------------------------


@inbound(ChannelKind.EMAIL)
def email(request: HttpRequest, channel: Channel) -> HttpResponse:
    """`POST /inbound/email/<token>`: one raw RFC 5322 message."""
    if request.content_type != "message/rfc822":
        return error_response(415, "Content-Type must be message/rfc822")
    arrival = _arrival(request, channel, Source.EMAIL, request.body)
    try:
        message_id = check_email(arrival.body)
    except Unparseable as refusal:
        return _refused(arrival, refusal)
    event_store(arrival, provider_message_id=message_id or digest_id(arrival.body))
    return accepted()


@inbound(ChannelKind.EMAIL, methods=("POST", "HEAD"))
def email_esp(request: HttpRequest, channel: Channel, esp: str) -> HttpResponse:
    """`POST /inbound/email/<token>/<esp>`: an ESP's inbound webhook, checked and parsed by
    django-anymail's view for that ESP; each message it carries is stored as raw MIME."""
    webhook = esps.webhook(esp.lower(), channel)
    if webhook is None:
        return error_response(404, "Not found")
    if request.method == "HEAD":  # some ESPs check the URL when it is configured
        return HttpResponse()
    body = request.body
    try:
        messages = webhook.messages(request)
    except esps.InvalidSignature:
        return error_response(403, "Invalid signature")
    except Unparseable as refusal:
        return _refused(_arrival(request, channel, Source.EMAIL_ESP, body), refusal)
    for raw in messages:
        arrival = Arrival(
            channel=channel,
            source=Source.EMAIL_ESP,
            esp=esp.lower(),
            body=raw,
            content_type="message/rfc822",
            headers=kept_headers(request.headers),
        )
        try:
            message_id = check_email(raw)
        except Unparseable as refusal:
            return _refused(arrival, refusal)
        event_store(arrival, provider_message_id=message_id or digest_id(raw))
    return HttpResponse()  # what ESPs expect: 200, any body


# -- text ---------------------------------------------------------------------------------


def _twilio_fields(request: HttpRequest, channel: Channel) -> list[tuple[str, str]] | None:
    """The form fields of a Twilio request whose signature is good; None otherwise."""
    token = auth_token(channel)
    given = request.headers.get("X-Twilio-Signature", "")
    fields = parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    url = (
        f"{settings.PUBLIC_URL}{request.get_full_path()}"
        if settings.PUBLIC_URL
        else request.build_absolute_uri()
    )
    if not token or not given or not signature_is_valid(token, url, fields, given):
        log.info("inbound text for channel %s: bad signature over %s", channel.pk, url)
        return None
    return fields


@inbound(ChannelKind.TEXT)
def text(request: HttpRequest, channel: Channel) -> HttpResponse:
    """`POST /inbound/text/<token>`: Twilio's incoming-message webhook."""
    fields = _twilio_fields(request, channel)
    if fields is None:
        return error_response(403, "Invalid signature")
    arrival = _arrival(request, channel, Source.TEXT, request.body)
    try:
        parsed = parse_text(dict(fields))
    except Unparseable as refusal:
        return _refused(arrival, refusal)
    event_store(arrival, provider_message_id=parsed.sid)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@inbound(ChannelKind.TEXT)
def text_status(request: HttpRequest, channel: Channel) -> HttpResponse:
    """`POST /inbound/text/<token>/status`: Twilio's status callback of a sent text."""
    fields = _twilio_fields(request, channel)
    if fields is None:
        return error_response(403, "Invalid signature")
    arrival = _arrival(request, channel, Source.TEXT_STATUS, request.body)
    try:
        status = parse_status(dict(fields))
    except Unparseable as refusal:
        return _refused(arrival, refusal)
    event_store(arrival, provider_message_id=f"status:{status.sid}:{status.status}")
    return HttpResponse(status=204)


# -- form ---------------------------------------------------------------------------------

FORM_TYPES = ("application/x-www-form-urlencoded", "application/json")


@inbound(ChannelKind.FORM, methods=("POST", "OPTIONS"))
def form(request: HttpRequest, channel: Channel) -> HttpResponse:
    """`POST /inbound/form/<token>`: a website's form (and its CORS preflight)."""
    origin = request.headers.get("Origin")
    allowed = origin is not None and origin.lower() in channel.allowed_origins
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        if allowed:
            response["Access-Control-Allow-Methods"] = "POST"
            response["Access-Control-Allow-Headers"] = "Content-Type"
            response["Access-Control-Max-Age"] = "86400"
        return _cors(response, origin if allowed else None)
    if request.content_type == "multipart/form-data":
        reason = "Post the form urlencoded or as JSON: files are not accepted"
        response = error_response(415, reason)
        return _cors(response, origin if allowed else None)
    if request.content_type not in FORM_TYPES:
        response = error_response(415, "Content-Type must be one of " + ", ".join(FORM_TYPES))
        return _cors(response, origin if allowed else None)
    if len(request.body) > settings.INBOUND_FORM_MAX_BYTES:
        limit = settings.INBOUND_FORM_MAX_BYTES
        return _cors(
            error_response(413, f"A form is at most {limit} bytes"), origin if allowed else None
        )
    arrival = _arrival(request, channel, Source.FORM, request.body)
    try:
        submission = parse_form(arrival.body, arrival.content_type)
    except Unparseable as refusal:
        return _cors(_refused(arrival, refusal), origin if allowed else None)
    event_store(arrival, provider_message_id=None)
    try:
        redirect = _redirect(request, channel, submission.redirect)
    except Unparseable as refusal:  # the form is received all the same: no lead is lost
        return _cors(error_response(400, refusal.detail), origin if allowed else None)
    if redirect is not None:
        return HttpResponseRedirect(redirect, status=303)
    return _cors(accepted(), origin if allowed else None)


def _redirect(request: HttpRequest, channel: Channel, target: str | None) -> str | None:
    """Where to send the browser: `redirect`, resolved against the page that posted the
    form, when it is on that page's site or one of the channel's origins."""
    if target is None:
        return None
    # The page that posted it; without a Referer or Origin (a no-referrer page), the
    # channel's one origin when it has just one.
    only = channel.allowed_origins[0] if len(channel.allowed_origins) == 1 else ""
    page = request.headers.get("Referer") or request.headers.get("Origin") or only
    url = urljoin(page, target)
    sites = {origin_of(page), *channel.allowed_origins} - {None}
    if origin_of(url) not in sites:
        raise Unparseable(
            "redirect must lead to the site that sent the form (the form was received)"
        )
    return url


def _cors(response: HttpResponse, origin: str | None) -> HttpResponse:
    response["Vary"] = "Origin"
    if origin is not None:
        response["Access-Control-Allow-Origin"] = origin
    return response
