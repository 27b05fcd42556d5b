"""What many pages share, kept rendered or loaded in the cache under the same surrogate keys as
the pages (`newsroom.cache`): the navigation, the breaking-news banner, story cards.

An entry is kept with the versions its keys had when it was made, and is good while they are
still the current ones, so a purge of any of its keys (or of `all`) makes it afresh; like a
page, it never outlives the next change touching its keys that nobody saves."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.cache import cache

from .cache import (
    ALL,
    KEY_VERSION,
    KEY_VERSION_SECONDS,
    _versions,
    seconds_until_next_change,
)

UNKNOWN = object()  # no purge counter was read before the fragments' content: keep none


@dataclass(frozen=True)
class Kept:
    """What `kept_together` keeps: `make()` under `name`, purged with `all` and `keys`."""

    name: str
    make: Callable[[], object]
    keys: tuple[str, ...] = ()


def kept_until_any_change(name: str, make: Callable[[], object], *, keys: Iterable[str] = ()):
    """`make()`, kept in the cache under `name` until the next purge of `all` or of `keys`, and
    never past the next change touching `keys` that nobody saves (for what every page shows:
    the navigation, the breaking-news banner). One round trip while kept."""
    return kept_together([Kept(name, make, tuple(keys))])[0]


def names_read(items: list[Kept]) -> list[str]:
    """The cache keys `kept_together(items)` reads: the entries and their keys' versions."""
    versions = {KEY_VERSION.format(key=key): None for item in items for key in (ALL, *item.keys)}
    return [*(item.name for item in items), *versions]


def kept_together(
    items: list[Kept], *, upcoming: list | None = None, reads: dict | None = None
) -> list:
    """The values of `items` (see `kept_until_any_change`), all read in one round trip while
    they are kept (none when `reads`, what the request read already, has them all: see
    `newsroom.cache.read_with_pages`); each one made afresh is stored as it was before.
    `upcoming`: the changes nobody saves, as read before the request read anything
    (`request.upcoming_changes`)."""
    wanted = [[KEY_VERSION.format(key=key) for key in (ALL, *item.keys)] for item in items]
    reads = reads or {}
    needed = names_read(items)
    found = {name: reads[name] for name in needed if reads.get(name) is not None}
    if unread := [name for name in needed if name not in reads]:
        found |= cache.get_many(unread)
    values = []
    for item, names in zip(items, wanted, strict=True):
        versions = [found.get(version_name) for version_name in names]
        kept = found.get(item.name)
        if kept is not None and None not in versions and kept[0] == versions:
            values.append(kept[1])
            continue
        if None in versions:
            current = _versions((ALL, *item.keys))[1]
            versions = [current.get(version_name) for version_name in names]
        value = item.make()  # after reading the versions: a purge meanwhile leaves it stale
        until = seconds_until_next_change(item.keys, upcoming) if item.keys else None
        timeout = KEY_VERSION_SECONDS if until is None else min(KEY_VERSION_SECONDS, until)
        if timeout > 0:
            cache.set(item.name, (versions, value), timeout=timeout)
        values.append(value)
    return values


def fresh_many(names: list[str]) -> dict[str, object]:
    """Of the values kept under `names` (by `keep_many`), those still fresh, by name: one round
    trip on Redis, two elsewhere."""
    if not names:
        return {}
    if hasattr(cache, "get_fresh_many"):
        return cache.get_fresh_many(names)
    found = cache.get_many(names)
    wanted = list({name for entry in found.values() for name in entry["versions"]})
    current = cache.get_many(wanted) if wanted else {}
    return {
        name: entry["value"]
        for name, entry in found.items()
        if all(current.get(key) == version for key, version in entry["versions"].items())
    }


def keep_many(
    entries: dict[str, tuple[object, set[str]]], *, counter=UNKNOWN, upcoming=UNKNOWN
) -> None:
    """Keep each (value, keys) of `entries` under its name, fresh until a purge of one of its
    keys or `all`, and never past the next change touching them that nobody saves. `counter`
    and `upcoming`: the purge counter and the coming changes, read before what the values show
    was (`request.purge_counter`, `request.upcoming_changes`); if a purge went out since, or
    either is not known, nothing is kept (it could be stale, or outlive a change due)."""
    if not entries or counter is UNKNOWN or upcoming is UNKNOWN:
        return
    counter_now, versions = _versions({ALL}.union(*(keys for _, keys in entries.values())))
    if counter_now != counter:
        return
    items = []
    for name, (value, keys) in entries.items():
        until = seconds_until_next_change(keys, upcoming)
        timeout = KEY_VERSION_SECONDS if until is None else min(KEY_VERSION_SECONDS, until)
        mine = {n: versions.get(n) for n in {KEY_VERSION.format(key=key) for key in {ALL, *keys}}}
        if timeout > 0 and None not in mine.values():
            items.append((name, value, mine, timeout))
    if hasattr(cache, "set_pages"):
        cache.set_pages(items)
        return
    for name, value, kept_versions, timeout in items:
        cache.set(name, {"value": value, "versions": kept_versions}, timeout=timeout)
