"""The pictures and embeds a story shows: checking that its body names only what the library
holds, what must be true of them before publication, and the story's "used in" record."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q

from pictures.models import Embed, Image

from .. import body as article_body
from ..models import LARGE_PICTURE_WIDTH, Article


def referenced(article: Article) -> tuple[dict[int, Image], dict[str, Embed]]:
    """The library pictures and embed snapshots the body names that exist (two queries at
    most, none for a body without any)."""
    return referenced_by(article.body)


def referenced_by(text: str) -> tuple[dict[int, Image], dict[str, Embed]]:
    """`referenced` for a body's HTML (a story's, a live entry's)."""
    ids, links = article_body.media_references(text)
    images = Image.objects.in_bulk(ids) if ids else {}
    embeds = (
        {e.url: e for e in Embed.objects.filter(url__in=links).select_related("thumbnail")}
        if links
        else {}
    )
    return images, embeds


def check_media(article: Article) -> None:
    """Refuse a body naming a picture the library does not hold, or a link with no snapshot
    (the admin makes the snapshot when the editor saves: `pictures.embeds`)."""
    check_body_media(article.body)


def check_body_media(text: str) -> None:
    """`check_media` for a body's HTML."""
    ids, links = article_body.media_references(text)
    images, embeds = referenced_by(text)
    problems = [
        f"Picture {number} is not in the library: check its number in Pictures."
        for number in ids
        if number not in images
    ]
    problems += [
        f"The embed {link} has no snapshot yet: save again to fetch it."
        for link in links
        if link not in embeds
    ]
    if any(
        s.kind in ("picture", "gallery", "embed") and not (s.ids or s.url)
        for s in article_body.segments(text)
    ):
        problems.append(
            "A picture, gallery or embed paragraph names nothing: give it library numbers "
            "or a link, or change its style back to a plain paragraph."
        )
    if problems:
        raise ValidationError({"body": problems})


def check_alt_texts(article: Article) -> None:
    """Before publication every picture the story shows is described for readers who cannot
    see it."""
    errors = {}
    if article.hero_image_id and not article.hero_image.alt_text.strip():
        errors["hero_image"] = (
            "Describe the story's picture (alt text, in Pictures) before publishing."
        )
    undescribed = undescribed_pictures(article.body)
    if undescribed:
        errors["body"] = undescribed
    if errors:
        raise ValidationError(errors)


def undescribed_pictures(text: str) -> str:
    """What to tell the editor of the body's pictures without alt text ("" when none)."""
    images, _ = referenced_by(text)
    undescribed = sorted(pk for pk, image in images.items() if not image.alt_text.strip())
    if not undescribed:
        return ""
    names = ", ".join(f"picture {pk}" for pk in undescribed)
    return f"Describe these pictures (alt text, in Pictures) before publishing: {names}."


def publishing_warnings(article: Article) -> list[str]:
    """What an editor should know before publishing, without stopping them."""
    warnings = []
    hero = article.hero_image if article.hero_image_id else None
    if hero is None:
        warnings.append("The story has no picture: its cards and link previews will be plain.")
    elif hero.width < LARGE_PICTURE_WIDTH:
        warnings.append(
            f"The story's picture is {hero.width} pixels wide: search engines and social "
            f"networks show large previews only for pictures {LARGE_PICTURE_WIDTH:,} or wider."
        )
    elif hero.rights_expire_at is not None and not hero.is_shown and hero.rendition_key:
        warnings.append("The story's picture's licence has run out: readers will not see it.")
    return warnings


def sync_pictures(article: Article) -> None:
    """Record every library picture the saved story shows (its picture, the body's pictures
    and galleries, embed thumbnails): the library's "used in"."""
    images, embeds = referenced(article)
    wanted = {*images, *(embed.thumbnail_id for embed in embeds.values())}
    if article.hero_image_id:
        wanted.add(article.hero_image_id)
    article.pictures.set(wanted)


def body_media(segments) -> tuple[dict[int, Image], dict[str, Embed]]:
    """For the page: the body's pictures readers may see and its embed snapshots, in one
    query (embeds come with their thumbnails, which are library pictures), none without
    either, whatever their number."""
    ids = {pk for segment in segments for pk in segment.ids}
    links = {segment.url for segment in segments if segment.url}
    if not ids and not links:
        return {}, {}
    # Both halves are lookups by index (primary key; the snapshot's unique link), where a
    # condition on the joined snapshot table would have the database scan every picture.
    rows = Image.objects.filter(pk__in=ids)
    if links:
        thumbnails = Embed.objects.filter(url__in=links).values("thumbnail_id")
        rows = Image.objects.filter(Q(pk__in=ids) | Q(pk__in=thumbnails)).select_related("embed")
    pictures, embeds = {}, {}
    for image in rows:
        if image.pk in ids and image.is_shown:
            pictures[image.pk] = image
        # Only when the snapshots were joined: asking a picture for its snapshot otherwise
        # is a query per picture.
        embed = getattr(image, "embed", None) if links else None
        if embed is not None and embed.url in links:
            embeds[embed.url] = embed  # shown with its thumbnail when that may be shown
    return pictures, embeds


def component(segment, pictures: dict, embeds: dict):
    """What a body's picture, gallery or embed paragraph shows (from `body_media`), or None."""
    if segment.kind == "picture":
        return pictures.get(segment.ids[0]) if segment.ids else None
    if segment.kind == "gallery":
        return [pictures[pk] for pk in segment.ids if pk in pictures]
    if segment.kind == "embed":
        return embeds.get(segment.url)
    return None
