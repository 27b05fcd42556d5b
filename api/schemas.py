"""The shapes of the content API's answers, from which its OpenAPI schema is made."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field


class SectionOut(Schema):
    slug: str
    name: str
    url: str


class AuthorOut(Schema):
    slug: str
    name: str
    url: str


class Rendition(Schema):
    width: int
    height: int
    jpeg: str
    webp: str
    avif: str


class PictureOut(Schema):
    id: int
    alt: str
    width: int
    height: int
    caption: str | None = None
    credit: str | None = None
    renditions: dict[str, list[Rendition]] = Field(
        description="Per crop (wide 16:9, standard 4:3, square 1:1, free as shot): each width."
    )


class StoryLink(Schema):
    id: int
    headline: str
    url: str


class StoryCard(Schema):
    id: int
    headline: str
    url: str
    section: SectionOut
    authors: list[AuthorOut]
    published_at: datetime
    updated_at: datetime | None = Field(None, description="The 'Updated' time readers see.")
    breaking: bool
    live: Literal["", "live", "ended"]
    picture: PictureOut | None


class Paragraph(Schema):
    type: Literal["paragraph", "quote"]
    html: str
    text: str


class Heading(Schema):
    type: Literal["heading"]
    level: int
    html: str
    text: str


class ListBlock(Schema):
    type: Literal["list"]
    ordered: bool
    items: list[str]


class Teaser(Schema):
    type: Literal["teaser"]
    title: str
    story: StoryLink | None


class Signup(Schema):
    type: Literal["signup"]
    url: str


class ImageBlock(Schema):
    type: Literal["image"]
    picture: PictureOut


class Gallery(Schema):
    type: Literal["gallery"]
    pictures: list[PictureOut]


class EmbedBlock(Schema):
    type: Literal["embed"]
    url: str
    provider: str
    title: str
    thumbnail: PictureOut | None


Block = Annotated[
    Paragraph | Heading | ListBlock | Teaser | Signup | ImageBlock | Gallery | EmbedBlock,
    Field(discriminator="type"),
]


class Correction(Schema):
    kind: str
    text: str
    published_at: datetime


class Source(Schema):
    name: str
    url: str


class StoryOut(StoryCard):
    standfirst: str
    language: str = Field(description='What it is written in, as a BCP 47 tag ("en-GB", "cy").')
    seo_headline: str
    social_headline: str
    tags: list[str]
    word_count: int
    reading_time: int
    blocks: list[Block]
    html: str = Field(description="The body as the site renders it, before blocks are cut.")
    corrections: list[Correction]
    source: Source | None
    live_summary: list[str]


class Tombstone(Schema):
    id: int
    gone: Literal["withdrawn", "legal", "ended"]
    at: datetime | None = Field(description="When it was withdrawn or left the site.")


class StoryPage(Schema):
    items: list[StoryCard]
    next: str | None = Field(description="The next page's address, when there is one.")


class SearchHit(StoryCard):
    snippet: str


class SearchPage(Schema):
    query: str
    items: list[SearchHit]
    next: str | None


class LiveEntryOut(Schema):
    id: int
    title: str
    html: str
    text: str
    key_event: bool
    posted_at: datetime
    edited_at: datetime | None
    author: str | None
    url: str


class LivePage(Schema):
    story: int
    status: Literal["live", "ended"]
    items: list[LiveEntryOut]


class Problem(Schema):
    detail: str
