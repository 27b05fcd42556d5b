"""Story cards kept rendered in the cache (`newsroom.fragments`) under the keys of what they show
(`surrogates.of_cards`: the story, its picture, its bylines), so a listing made afresh renders,
and loads the bylines of, only the cards that changed since they were last shown.

A view names the cards it will show, and how (`prepare`: one round trip for all of them);
`{% story_card %}` then gives the kept ones and renders the others, which the view keeps
after its response is made (`keep`), against the purge counter and the coming changes read
before the page's stories were (`request.purge_counter`, `request.upcoming_changes`), so a card
made while its story changed is not kept as fresh, nor one past a change that came due."""

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
    names: set[str]  # the cards prepared
    kept: dict[str, tuple[str, set[str]]]  # by name: (html, keys), from the cache
    made: dict[str, tuple[str, set[str]]] = field(default_factory=dict)  # rendered now


def prepare(request, cards: list[tuple[object, Style]]) -> list:
    """Read the kept cards of `cards` ((story, style) each) for this request's
    `{% story_card %}`; returns the stories whose card is not kept (their bylines are wanted)."""
    names = {style.name(story.pk): story for story, style in cards}
    request._story_cards = shown = _Shown(set(names), fresh_many(list(names)))
    return [story for name, story in names.items() if name not in shown.kept]


def missing(stories: list, kept_not: list, loaded: dict) -> list:
    """`stories` with each one whose card is not kept (of `kept_not`) replaced by its row in
    `loaded`, and left out when it has none (gone since the listing was read)."""
    rows = {story.pk for story in kept_not}
    return [loaded.get(s.pk, s) for s in stories if s.pk not in rows or s.pk in loaded]


def card(request, story, style: Style, render) -> str:
    """The card of `story` as `style` says: kept, or `render()`. What is rendered is kept
    (by `keep`) only when the view prepared it and its keys are all known: a card showing a
    byline needs the story's bylines loaded to name them."""
    shown = getattr(request, "_story_cards", None) if request is not None else None
    name = style.name(story.pk)
    if shown is None or name not in shown.names:
        return render()
    found = shown.kept.get(name) or shown.made.get(name)
    if found is not None:
        return found[0]
    html = render()
    if style.compact or "authors" in story.__dict__.get("_prefetched_objects_cache", {}):
        shown.made[name] = (html, surrogates.of_cards([story]))
    return html


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
        counter = getattr(request, "purge_counter", UNKNOWN)
        keep_many(made, counter=counter, upcoming=getattr(request, "upcoming_changes", UNKNOWN))
        shown.made = {}
