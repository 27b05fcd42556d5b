"""Embeds: a link an editor pastes (YouTube, Vimeo, X, Instagram, TikTok, Facebook, or any
provider in `NEWSROOM_OEMBED_PROVIDERS`) made into a snapshot on the server, by oEmbed.

The provider is asked once, through micawber (a maintained oEmbed client: provider registry,
timeouts, size limits, its errors told apart). What it says (title, author, its thumbnail,
copied into the library) is stored as an `Embed`, and that is what readers see; nothing is
loaded from the provider until a reader clicks, and then only its player (`player_url`,
built from the link by the provider's entry in the settings, never taken from the answer).
Either everything of a snapshot is stored or nothing is: a provider that times out, refuses,
or answers junk leaves no row and no file, and the editor is told why in plain words.
"""

from __future__ import annotations

import re
import socket
import textwrap
import urllib.request
from dataclasses import dataclass
from functools import cache
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from .models import Embed, Licence
from .services import add_image

KINDS = {"video", "rich", "photo", "link"}
MAX_THUMBNAIL_BYTES = 5 * 1024 * 1024
MAX_ANSWER_BYTES = 512 * 1024
USER_AGENT = "Newsroom oEmbed client"


class EmbedError(ValidationError):
    """A link that could not be made into a snapshot, with the reason for the editor."""


@dataclass(frozen=True)
class ProviderEntry:
    name: str
    endpoint: str
    patterns: tuple[re.Pattern, ...]
    player: str
    thumbnail_hosts: tuple[str, ...]
    params: dict
    needs: str  # the setting a provider needs and lacks (an access token), or ""
    colour: str

    def match(self, url: str) -> re.Match | None:
        return next((m for p in self.patterns if (m := p.match(url))), None)


def providers() -> list[ProviderEntry]:
    """The providers in the settings, each with its compiled link patterns."""
    out = []
    for entry in settings.NEWSROOM_OEMBED_PROVIDERS:
        params = dict(entry.get("params", {}))
        missing = [k for k, v in params.items() if not v]
        out.append(
            ProviderEntry(
                name=entry["name"],
                endpoint=entry["endpoint"],
                patterns=tuple(re.compile(p) for p in entry["patterns"]),
                player=entry.get("player", ""),
                thumbnail_hosts=tuple(entry.get("thumbnail_hosts", ())),
                params=params,
                needs=entry.get("needs", "") if missing else "",
                colour=entry.get("colour", "#111111"),
            )
        )
    return out


def provider_for(url: str) -> tuple[ProviderEntry, re.Match]:
    for provider in providers():
        if match := provider.match(url):
            return provider, match
    names = ", ".join(p.name for p in providers())
    host = urlsplit(url).netloc or url[:60]
    raise EmbedError(
        f"Links from {host} cannot be embedded. Embeds work for links to posts and videos on "
        f"{names}; for anything else, link to it in the text."
    )


def snapshot_embed(url: str, *, by=None) -> Embed:
    """The snapshot of `url`: the one already made, or a new one from its provider. Raises
    `EmbedError` with a reason fit for the editor; on any error nothing is stored."""
    url = url.strip()
    existing = Embed.objects.filter(url=url).select_related("thumbnail").first()
    if existing is not None:
        return existing
    provider, match = provider_for(url)
    if provider.needs:
        raise EmbedError(
            f"{provider.name} embeds need the newsroom's access token ({provider.needs}), "
            "which is not set. Ask the web team, or link to the post in the text."
        )
    return snapshot_from_answer(url, _ask(provider, url), by=by)


def snapshot_from_answer(url: str, data: dict, *, by=None) -> Embed:
    """The snapshot of `url` from its provider's oEmbed answer `data` (already asked: the
    demo content's, which no provider is asked for)."""
    existing = Embed.objects.filter(url=url).select_related("thumbnail").first()
    if existing is not None:
        return existing
    provider, match = provider_for(url)
    thumbnail = _thumbnail(provider, data)
    title = _text(data.get("title"), 300)
    with transaction.atomic():
        image = add_image(
            thumbnail,
            by=by,
            min_width=0,
            alt_text=f"{provider.name}: {title}"[:300] if title else f"{provider.name} post",
            caption=title,
            credit=_text(data.get("author_name"), 150) or provider.name,
            source=provider.name,
            licence=Licence.EMBED,
            rights=f"Thumbnail of {url}, shown beside the link as the provider's oEmbed allows.",
        )
        return Embed.objects.create(
            url=url,
            provider=provider.name,
            kind=data["type"],
            title=title,
            author_name=_text(data.get("author_name"), 150),
            author_url=_link(data.get("author_url")),
            player_url=_player(provider, match, url),
            thumbnail=image,
        )


def _ask(provider: ProviderEntry, url: str) -> dict:
    # micawber, and the Redis client and Beautiful Soup it imports, load when an embed is made:
    # at the module's import they were a fifth of a second of every process's start.
    from micawber.exceptions import (
        InvalidResponseException,
        ProviderException,
        ProviderHTTPException,
        ProviderTimeoutException,
    )

    client = _client_class()(
        provider.endpoint,
        timeout=settings.NEWSROOM_OEMBED_TIMEOUT,
        user_agent=USER_AGENT,
        **provider.params,
    )
    name, seconds = provider.name, settings.NEWSROOM_OEMBED_TIMEOUT
    try:
        data = client.request(url, maxwidth=1200)
    except ProviderTimeoutException:
        raise EmbedError(
            f"{name} did not answer within {seconds:g} seconds, so the embed was not made and "
            "nothing was saved. Try saving again in a minute."
        ) from None
    except ProviderHTTPException as error:
        raise EmbedError(_refusal(name, getattr(error, "status", None) or _status(error))) from None
    except InvalidResponseException:
        raise EmbedError(
            f"{name}'s answer about this link was not oEmbed data, so the embed was not made and "
            "nothing was saved. Check the link, or try again later."
        ) from None
    except ProviderException:
        raise EmbedError(
            f"{name} could not be reached, so the embed was not made and nothing was saved. "
            "Try saving again in a minute."
        ) from None
    if str(data.get("version", "")) != "1.0" or data.get("type") not in KINDS:
        raise EmbedError(
            f"{name}'s answer about this link was not oEmbed data (no version or type), so the "
            "embed was not made and nothing was saved."
        )
    return data


@cache
def _client_class():
    from micawber import Provider
    from micawber import providers as micawber_providers
    from micawber.exceptions import (
        ProviderException,
        ProviderHTTPException,
        ProviderTimeoutException,
    )

    class Client(Provider):
        """micawber's provider with a smaller limit on what an answer may weigh."""

        def fetch(self, url):
            request = urllib.request.Request(url, headers={"User-Agent": self.user_agent})
            try:
                return micawber_providers.fetch(request, self.socket_timeout, MAX_ANSWER_BYTES)
            except HTTPError as exc:
                raise ProviderHTTPException(url, exc.code) from exc
            except TimeoutError as exc:
                raise ProviderTimeoutException(f"Timed out fetching {url}") from exc
            except (URLError, OSError, UnicodeDecodeError, LookupError) as exc:
                if isinstance(getattr(exc, "reason", None), TimeoutError | socket.timeout):
                    raise ProviderTimeoutException(f"Timed out fetching {url}") from exc
                raise ProviderException(f"Error fetching {url}") from exc

    return Client


def _status(error) -> int | None:
    numbers = [a for a in getattr(error, "args", ()) if isinstance(a, int)]
    return numbers[0] if numbers else None


def _refusal(name: str, status: int | None) -> str:
    if status == 404:
        why = "says there is no such post or video (404): it may have been deleted or made private"
    elif status in (401, 403):
        why = f"refuses to embed it ({status}): its owner may have turned embedding off"
    else:
        why = f"answered with an error ({status})"
    return f"{name} {why}. The embed was not made and nothing was saved."


def _thumbnail(provider: ProviderEntry, data: dict) -> SimpleUploadedFile:
    """The provider's thumbnail, downloaded (only from its own hosts) and checked like any
    upload; or, for providers without one (X), a card drawn here with the post's title."""
    address = data.get("thumbnail_url")
    if not address:
        return _drawn_card(provider, data)
    host = (urlsplit(address).hostname or "").lower()
    allowed = {urlsplit(provider.endpoint).hostname, *provider.thumbnail_hosts}
    if urlsplit(address).scheme not in ("http", "https") or not any(
        host == h or (h.startswith(".") and host.endswith(h)) for h in allowed if h
    ):
        return _drawn_card(provider, data)
    try:
        request = urllib.request.Request(address, headers={"User-Agent": USER_AGENT})
        with urllib.request.urlopen(request, timeout=settings.NEWSROOM_OEMBED_TIMEOUT) as answer:
            content = answer.read(MAX_THUMBNAIL_BYTES + 1)
    except (OSError, ValueError):
        raise EmbedError(
            f"{provider.name}'s thumbnail for this link could not be fetched, so the embed was "
            "not made and nothing was saved. Try saving again in a minute."
        ) from None
    if len(content) > MAX_THUMBNAIL_BYTES:
        raise EmbedError(f"{provider.name}'s thumbnail is over 5 MB; the embed was not made.")
    return SimpleUploadedFile("embed-thumbnail", content)


def _drawn_card(provider: ProviderEntry, data: dict) -> SimpleUploadedFile:
    import io

    card = PILImage.new("RGB", (1200, 675), provider.colour)
    draw = ImageDraw.Draw(card)
    draw.text((64, 56), provider.name.upper(), fill="white", font=ImageFont.load_default(56))
    title = _text(data.get("title"), 300) or data.get("url", "")
    lines = textwrap.wrap(title, 34)[:5]
    draw.multiline_text(
        (64, 170), "\n".join(lines), fill="white", font=ImageFont.load_default(60), spacing=14
    )
    author = _text(data.get("author_name"), 150)
    if author:
        draw.text((64, 590), author, fill="white", font=ImageFont.load_default(40))
    out = io.BytesIO()
    card.save(out, "PNG")
    return SimpleUploadedFile("embed-card.png", out.getvalue())


def _player(provider: ProviderEntry, match: re.Match, url: str) -> str:
    if not provider.player:
        return ""
    groups = {k: quote(v or "", safe="") for k, v in match.groupdict().items()}
    return provider.player.format(url=quote(url, safe=""), **groups)


def _text(value, limit: int) -> str:
    return " ".join(str(value).split())[:limit] if isinstance(value, str | int | float) else ""


def _link(value) -> str:
    value = value if isinstance(value, str) else ""
    return value[:500] if urlsplit(value).scheme in ("http", "https") else ""
