"""Tracked links. With PUBLIC_URL set, every http(s) link of an email's HTML goes out as
PUBLIC_URL/l/<link_id>; the sent message lists them in `tracked_links`, and a click on one is
counted and sent on to the URL that was stored (views.py).

The HTML is tokenized by the standard library's parser, and only the `href` values of its
links are replaced: everything else goes out exactly as it was written. Link ids are derived
from the message's public id (fixed per draft, and random), so every attempt of a draft
sends the same links."""

import hashlib
import re
from html.parser import HTMLParser

from django.conf import settings

from hyperrep.ids import BASE62, MINTED_LENGTH

# The value of the href attribute within one start tag, as it was written.
_HREF = re.compile(r"""(\bhref\s*=\s*)("[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)


class _Links(HTMLParser):
    """The start tags of the document's http(s) links: (offset, the tag as written, URL)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[tuple[int, int], str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href") if tag == "a" else None
        if href and href.strip().lower().startswith(("http://", "https://")):
            self.found.append((self.getpos(), self.get_starttag_text() or "", href.strip()))


def link_id(message_public_id: str, index: int) -> str:
    digest = hashlib.sha256(f"{message_public_id}:{index}".encode()).digest()
    number = int.from_bytes(digest, "big")
    characters = []
    for _ in range(MINTED_LENGTH):
        number, rest = divmod(number, len(BASE62))
        characters.append(BASE62[rest])
    return "lnk_" + "".join(characters)


def track(html: str, *, message_public_id: str) -> tuple[str, list[tuple[str, str]]]:
    """The HTML with its http(s) links going through PUBLIC_URL/l/<link_id>, and the
    (link_id, URL) of each; the HTML unchanged when PUBLIC_URL is not set."""
    if not settings.PUBLIC_URL or "<" not in html:
        return html, []
    parser = _Links()
    parser.feed(html)
    parser.close()
    line_starts = [0, *(match.end() for match in re.finditer("\n", html))]
    pieces: list[str] = []
    links: list[tuple[str, str]] = []
    done = 0
    for index, ((line, column), tag, url) in enumerate(parser.found):
        start = line_starts[line - 1] + column
        if html[start : start + len(tag)] != tag:  # not where the parser said: leave it be
            continue
        identifier = link_id(message_public_id, index)
        tracked = f"{settings.PUBLIC_URL}/l/{identifier}"
        value = _HREF.search(tag)
        if value is None:
            continue
        tag_out = f'{tag[: value.start(2)]}"{tracked}"{tag[value.end(2) :]}'
        pieces += [html[done:start], tag_out]
        done = start + len(tag)
        links.append((identifier, url))
    return "".join([*pieces, html[done:]]), links
