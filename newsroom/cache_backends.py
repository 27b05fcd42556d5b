"""Django's Redis cache, made to fail soft: when Redis is unreachable, reads miss and writes are
dropped (with a warning in the log) instead of turning every page into a 500. The site is
slower without its cache, but it stays up."""

import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)


def _soft(default_factory):
    def wrap(method):
        def inner(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except UNAVAILABLE as exc:
                logger.warning("cache unavailable, carrying on without it: %s", exc)
                return default_factory(*args, **kwargs)

        inner.__name__ = method.__name__
        return inner

    return wrap


def _none(*args, **kwargs):
    return None


def _false(*args, **kwargs):
    return False


class ResilientRedisCache(RedisCache):
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

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except UNAVAILABLE as exc:
            logger.warning("cache unavailable, carrying on without it: %s", exc)
            # Callers treat a missing key as "start afresh"; with no cache that is harmless.
            raise ValueError("cache unavailable") from exc
