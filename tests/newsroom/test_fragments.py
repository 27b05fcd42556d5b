"""What pages share, kept in the cache under the pages' surrogate keys (`newsroom.fragments`):
fresh until a purge of one of their keys, never kept when a purge went out while they were
made, never past the next change nobody saves; on the local memory cache and on Redis."""

import time

from django.core.cache import cache

from newsroom import cache as page_cache
from newsroom import fragments


def counter_now():
    """The purge counter, as the page-cache middleware reads it before a view runs."""
    return page_cache._versions([])[0]


NOTHING = []  # no change due that nobody saves (`upcoming_changes()` read before the render)


def test_kept_values_stay_fresh_until_a_purge_of_one_of_their_keys(any_cache):
    entries = {"card:1": ("<one>", {"a1", "i7"}), "card:2": ("<two>", {"a2", "p3"})}
    fragments.keep_many(entries, counter=counter_now(), upcoming=NOTHING)
    names = ["card:1", "card:2", "card:3"]
    assert fragments.fresh_many(names) == {"card:1": "<one>", "card:2": "<two>"}
    page_cache.purge_now({"i7"})  # the first one's picture
    assert fragments.fresh_many(names) == {"card:2": "<two>"}
    page_cache.purge_now({"all"})
    assert fragments.fresh_many(names) == {}
    assert fragments.fresh_many([]) == {}


def test_nothing_is_kept_when_a_purge_went_out_while_it_was_made(any_cache):
    counter = counter_now()
    page_cache.purge_now({"a9"})  # another story's save, after what the cards show was read
    fragments.keep_many({"card:1": ("<old>", {"a1"})}, counter=counter, upcoming=NOTHING)
    # Neither read before the render: not known to be fresh, nor to outlive no change.
    fragments.keep_many({"card:2": ("<two>", {"a2"})}, upcoming=NOTHING)
    fragments.keep_many({"card:3": ("<three>", {"a3"})}, counter=counter_now())
    assert fragments.fresh_many(["card:1", "card:2", "card:3"]) == {}
    fragments.keep_many({"card:1": ("<new>", {"a1"})}, counter=counter_now(), upcoming=NOTHING)
    assert fragments.fresh_many(["card:1"]) == {"card:1": "<new>"}


def test_a_value_is_not_kept_past_the_next_change_of_its_keys_nobody_saves(any_cache):
    soon = [(time.time() + 0.5, frozenset({"a1"}))]  # story 1 leaves its listings in 0.5 s
    entries = {"card:1": ("<one>", {"a1"}), "card:2": ("<two>", {"a2"})}
    fragments.keep_many(entries, counter=counter_now(), upcoming=soon)
    assert fragments.fresh_many(["card:1", "card:2"]) == {"card:2": "<two>"}
    # A change that came due during the render, read before it, still bounds what it made.
    passed = [(time.time() - 0.5, frozenset({"a2"}))]
    fragments.keep_many({"card:2": ("<new>", {"a2"})}, counter=counter_now(), upcoming=passed)
    assert fragments.fresh_many(["card:2"]) == {"card:2": "<two>"}


def test_on_redis_forty_kept_values_are_read_in_one_round_trip(redis_default_cache, request):
    entries = {f"card:{n}": (f"<{n}>", {f"a{n}", f"p{n % 5}"}) for n in range(40)}
    fragments.keep_many(entries, counter=counter_now(), upcoming=NOTHING)
    commands = request.getfixturevalue("redis_commands")  # from here on
    found = fragments.fresh_many(list(entries))
    assert found == {name: value for name, (value, _) in entries.items()}
    assert commands == ["EVALSHA"]


def test_on_redis_an_unreachable_cache_keeps_and_finds_nothing(settings, monkeypatch):
    settings.CACHES = {
        "default": {
            "BACKEND": "newsroom.cache_backends.ResilientRedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: nothing answers
            "OPTIONS": {"socket_connect_timeout": 0.1, "retry_after": 30},
        }
    }
    fragments.keep_many({"card:1": ("<one>", {"a1"})}, counter=None, upcoming=NOTHING)
    assert fragments.fresh_many(["card:1"]) == {}
    assert not cache.available
