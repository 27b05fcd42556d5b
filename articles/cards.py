"""Story cards kept rendered in the cache (`newsroom.fragments`) under the keys of what they show
(`surrogates.of_cards`: the story, its picture, its bylines), so a listing made afresh renders,
and loads the bylines of, only the cards that changed since they were last shown.

A view names the cards it will show, and how (`prepare`: one round trip for all of them);
`{% story_card %}` then gives the kept ones and renders the others, which the view keeps
after its response is made (`keep`), against the purge counter read before the page's stories
were (`request.purge_counter`), so a card made while its story changed is not kept as fresh."""

from __future__ import annotations

from dataclasses import dataclass, field

from newsroom.fragments import UNKNOWN, fresh_many, keep_many

from . import surrogates

VERSION = 1  # of the cards' markup: a new one never reads the old one's entries


@dataclass(frozen=True)
class Style:
    """How `{% story_card %}` (or `{% lead_card %}`) shows a story (its arguments but a snippet)."""

    heading_level: int = 3
    compact: bool = False
    eager: bool = False
    kind: str = "card"  # or "lead": the home page's lead story

    def name(self, pk: int) -> str:
        flags = ("c" if self.compact else "") + ("e" if self.eager else "")
        return f"{self.kind}:{VERSION}:{pk}:h{self.heading_level}{flags}"


LEAD = Style(heading_level=2, eager=True, kind="lead")


@dataclass
class _Shown:
    kept: dict[str, tuple[str, set[str]]]  # by name: (html, keys), from the cache
    made: dict[str, tuple[str, set[str]]] = field(default_factory=dict)  # rendered now


def prepare(request, cards: list[tuple[object, Style]]) -> list:
    """Read the kept cards of `cards` ((story, style) each) for this request's
    `{% story_card %}`; returns the stories whose card is not kept (their bylines are wanted)."""
    names = {style.name(story.pk): story for story, style in cards}
    request._story_cards = shown = _Shown(fresh_many(list(names)))
    return [story for name, story in names.items() if name not in shown.kept]


def card(request, story, style: Style, render) -> str:
    """The card of `story` as `style` says: kept, or `render()` (kept later by `keep`)."""
    shown = getattr(request, "_story_cards", None) if request is not None else None
    if shown is None:
        return render()
    name = style.name(story.pk)
    found = shown.kept.get(name) or shown.made.get(name)
    if found is None:
        found = shown.made[name] = (render(), surrogates.of_cards([story]))
    return found[0]


def keys(request) -> set[str]:
    """The keys of every card prepared or made for this request."""
    shown = getattr(request, "_story_cards", None)
    if shown is None:
        return set()
    return set().union(*(keys for _, keys in [*shown.kept.values(), *shown.made.values()]))


def keep(request) -> None:
    """Keep the cards rendered for this request."""
    shown = getattr(request, "_story_cards", None)
    if shown is not None and shown.made:
        made = {name: (card, card[1]) for name, card in shown.made.items()}  # with its keys
        keep_many(made, counter=getattr(request, "purge_counter", UNKNOWN))
        shown.made = {}
