"""Django's Redis cache, made to fail soft and fast.

When Redis is unreachable, or accepts connections but never answers, reads miss and writes are
dropped instead of turning every page into a 500: the site is slower without its cache, but it
stays up. A circuit breaker keeps "slower" small: the first call that fails (after at most the
socket timeout, with no retries) opens it, and for the next `NEWSROOM_CACHE_RETRY_SECONDS` every
call in this process returns at once without touching Redis; then one call tries again, and a
success closes it. Without the breaker a hung Redis cost every cache call its full timeout, and
a page several of them.

Whole pages (`newsroom.cache`) are kept as a Redis hash: the page, and the version each of its
surrogate keys had when it was made. A script checks those versions where they live, so a cached
front page with a hundred keys is one round trip and one value to unpickle.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

logger = logging.getLogger(__name__)
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)
DEFAULT_RETRY_SECONDS = 30.0


class Breaker:
    """Whether to try Redis at all: open (skip it) for a while after a failure. One per server
    and process, shared by its threads."""

    def __init__(self, retry_after: float):
        self.retry_after = retry_after
        self.open_until = 0.0
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        return time.monotonic() >= self.open_until

    def trip(self, error: Exception) -> None:
        with self._lock:
            was_closed = self.closed
            self.open_until = time.monotonic() + self.retry_after
        if was_closed:
            logger.warning(
                "cache unavailable (%s): carrying on without it, trying again in %.0f s",
                error,
                self.retry_after,
            )

    def reset(self) -> None:
        if self.open_until:
            with self._lock:
                self.open_until = 0.0
            logger.warning("cache available again")


_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(location: str, retry_after: float) -> Breaker:
    with _breakers_lock:
        return _breakers.setdefault(location, Breaker(retry_after))


def _soft(default_factory):
    def wrap(method):
        def inner(self, *args, **kwargs):
            breaker = self.breaker
            if not breaker.closed:
                return default_factory(*args, **kwargs)
            try:
                result = method(self, *args, **kwargs)
            except UNAVAILABLE as exc:
                breaker.trip(exc)
                return default_factory(*args, **kwargs)
            breaker.reset()
            return result

        inner.__name__ = method.__name__
        return inner

    return wrap


def _none(*args, **kwargs):
    return None


def _false(*args, **kwargs):
    return False


def _unavailable(*args, **kwargs):
    # Callers of incr treat a missing key as "start afresh"; with no cache that is harmless.
    raise ValueError("cache unavailable")


PAGE_FIELD = "_page"
# A kept entry (a page, a fragment) is a hash of its value (`_page`) and the versions it was
# stored under; `read(key)` gives the value (nil if none) and 1 when it was stored under
# versions and each is still its key's current one, else 0.
READ_ENTRY = """
local function read(key)
  local fields = redis.call('HGETALL', key)
  local page, fresh, marked = nil, 1, 0
  for i = 1, #fields, 2 do
    if fields[i] == '_page' then
      page = fields[i + 1]
    else
      marked = 1
      if fresh == 1 and redis.call('GET', fields[i]) ~= fields[i + 1] then fresh = 0 end
    end
  end
  return page, fresh * marked
end
"""
# KEYS: the page's hash, the purge counter, then what a render reads first. Returns {counter,
# fresh, page or false}, followed, unless the page is fresh, by the value of each further key
# (false where there is none): a miss reads them in the same round trip.
GET_PAGE_SCRIPT = (
    READ_ENTRY
    + """
local counter = redis.call('GET', KEYS[2]) or ''
local page, fresh = read(KEYS[1])
local out = {counter, fresh, page or false}
if page == nil or fresh == 0 then
  for k = 3, #KEYS do out[k + 1] = redis.call('GET', KEYS[k]) end
end
return out
"""
)
# KEYS: the page's hash, the purge counter, then its keys' versions. ARGV: the page, its
# lifetime, the versions' lifetime, the counter as read before the page was made ('' if none),
# then a new version for each key that has none. Stores the page under its keys' current
# versions if the counter has not moved, else under none (stale); makes up missing versions.
STORE_PAGE_SCRIPT = """
local versions = {'_page', ARGV[1]}
for k = 3, #KEYS do
  local version = redis.call('GET', KEYS[k])
  if not version then
    version = ARGV[k + 2]
    redis.call('SET', KEYS[k], version, 'EX', ARGV[3])
  end
  versions[#versions + 1] = KEYS[k]
  versions[#versions + 1] = version
end
redis.call('DEL', KEYS[1])
if (redis.call('GET', KEYS[2]) or '') == ARGV[4] then
  redis.call('HSET', KEYS[1], unpack(versions))
else
  redis.call('HSET', KEYS[1], '_page', ARGV[1])
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
"""
# KEYS: entries kept as pages are. Returns, for each, the entry when it is fresh, else '' (a Lua
# array cannot hold nil).
GET_FRESH_SCRIPT = (
    READ_ENTRY
    + """
local out = {}
for k = 1, #KEYS do
  local page, fresh = read(KEYS[k])
  out[k] = (fresh == 1 and page) or ''
end
return out
"""
)


class ReusingRedisCacheClient(RedisCacheClient):
    """Django's client, keeping one redis-py client per server: Django makes a new one for every
    call, and making one (it sets up its table of reply parsers) cost more CPU than a call."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)
            client = self._clients[index] = self._client(connection_pool=pool)
        return client

    def add_many(self, data: dict, timeout) -> None:
        pipeline = self.get_client(write=True).pipeline(transaction=False)
        for key, value in data.items():
            pipeline.set(key, self._serializer.dumps(value), ex=timeout, nx=True)
        pipeline.execute()

    def _script(self, text: str, *, write=False):
        client = self.get_client(write=write)
        scripts = self.__dict__.setdefault("_scripts", {})
        if (text, write) not in scripts:
            scripts[text, write] = client.register_script(text)
        return scripts[text, write], client

    def get_page(self, key: str, counter: str, reads: list[str]):
        script, client = self._script(GET_PAGE_SCRIPT)
        counter_value, fresh, page, *values = script(keys=[key, counter, *reads], client=client)
        loads = self._serializer.loads
        found = {name: None if value is None else loads(value)
                 for name, value in zip(reads, values, strict=False)}  # fmt: skip
        counter_value = loads(counter_value) if counter_value else None
        return (None if page is None else loads(page)), bool(fresh), counter_value, found

    def store_page(self, key, page, counter_key, counter, names, new_versions, timeouts) -> None:
        script, client = self._script(STORE_PAGE_SCRIPT, write=True)
        dumps = self._serializer.dumps
        expected = "" if counter is None else dumps(counter)
        arguments = [dumps(page), *timeouts, expected, *new_versions]
        script(keys=[key, counter_key, *names], args=arguments, client=client)

    def set_pages(self, items: list[tuple[str, object, dict[str, int], int]]) -> None:
        pipeline = self.get_client(write=True).pipeline(transaction=True)
        for key, page, versions, timeout in items:
            pipeline.delete(key)
            pipeline.hset(key, mapping={PAGE_FIELD: self._serializer.dumps(page), **versions})
            pipeline.expire(key, timeout)
        pipeline.execute()

    def get_fresh_many(self, keys: list[str]) -> list:
        script, client = self._script(GET_FRESH_SCRIPT)
        return [self._serializer.loads(found) if found else None
                for found in script(keys=keys, client=client)]  # fmt: skip


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        options = params.setdefault("OPTIONS", {})
        retry_after = float(options.pop("retry_after", DEFAULT_RETRY_SECONDS))
        # A failed call is not retried: the breaker decides when to try again.
        options.setdefault("retry", Retry(NoBackoff(), 0))
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
        self.breaker = breaker_for(str(server), retry_after)

    @property
    def available(self) -> bool:
        """False while the breaker is open (Redis failed recently and is being skipped)."""
        return self.breaker.closed

    get = _soft(lambda key, default=None, version=None: default)(RedisCache.get)
    get_many = _soft(lambda keys, version=None: {})(RedisCache.get_many)
    set = _soft(_none)(RedisCache.set)
    set_many = _soft(lambda data, *a, **k: list(data))(RedisCache.set_many)
    add = _soft(_false)(RedisCache.add)
    touch = _soft(_false)(RedisCache.touch)
    delete = _soft(_false)(RedisCache.delete)
    delete_many = _soft(_none)(RedisCache.delete_many)
    has_key = _soft(_false)(RedisCache.has_key)
    clear = _soft(_false)(RedisCache.clear)
    incr = _soft(_unavailable)(RedisCache.incr)

    @_soft(_none)
    def add_many(self, data: dict, timeout=DEFAULT_TIMEOUT, version=None) -> None:
        """`add` of each of `data`'s keys, in one round trip (a pipeline, not a transaction)."""
        data = {self.make_and_validate_key(key, version=version): v for key, v in data.items()}
        self._cache.add_many(data, self.get_backend_timeout(timeout))

    @_soft(lambda key, counter, reads=(): (None, False, None, {}))
    def get_page(self, key: str, counter: str, reads: Iterable[str] = ()):
        """(page, fresh, counter's value, read) for the page kept under `key`, in one round
        trip: the page (None if there is none), whether every version it was stored under is
        still its key's current one, the cache key `counter`'s value now and, unless the page
        is fresh, the value of each of `reads` (None for those not in the cache) by name."""
        names = {self.make_key(name): name for name in reads}
        page, fresh, value, found = self._cache.get_page(
            self.make_and_validate_key(key), self.make_key(counter), list(names)
        )
        return page, fresh, value, {names[name]: v for name, v in found.items()}

    @_soft(_none)
    def store_page(self, key, page, *, counter_key, counter, versions, timeout, versions_timeout):
        """Keep `page` under `key` for `timeout` seconds, in one round trip: fresh while each
        cache key of `versions` holds the version it has now (those without one are given the
        one `versions` names, kept `versions_timeout` seconds), if `counter_key` still holds
        `counter`; else stored under none, as stale."""
        self._cache.store_page(
            self.make_and_validate_key(key), page, self.make_key(counter_key), counter,
            [self.make_key(name) for name in versions], list(versions.values()),
            (timeout, versions_timeout),
        )  # fmt: skip

    @_soft(lambda names: {})
    def get_fresh_many(self, names: list[str]) -> dict:
        """Of the entries kept under `names` (by `set_pages`), the fresh ones by name, in one
        round trip: those whose every version is still its key's current one."""
        keys = [self.make_and_validate_key(name) for name in names]
        found = self._cache.get_fresh_many(keys) if keys else []
        return {name: entry for name, entry in zip(names, found, strict=True) if entry is not None}

    @_soft(_none)
    def set_pages(self, items: list[tuple[str, object, dict[str, int], int]]) -> None:
        """Keep each (name, entry, versions, timeout) of `items` for `timeout` seconds, fresh
        while each cache key of `versions` holds its version, in one round trip."""
        self._cache.set_pages([
            (self.make_and_validate_key(name), entry,
             {self.make_key(key): version for key, version in versions.items()}, timeout)
            for name, entry, versions, timeout in items
        ])  # fmt: skip
