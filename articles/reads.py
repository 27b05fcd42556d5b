"""What readers read: a first-party beacon counts story reads into Redis, and the "Most read" and
"Trending now" rails are made from the counts.

The page sends a tiny POST when a story is read (`static/js/reads.js`), so cached pages, which
never reach Django, are counted too. Behind nginx (deploy/nginx/) the beacon does not reach the
app either: nginx answers it and passes it on as a syslog line to the collector
(`articles.reads_edge`, `manage.py collect_reads`), which counts each second's reads in one
round trip; without nginx the app's view counts it (`reads_views.beacon`).

Nothing personal is kept: no cookie is set or read, no address or user agent is stored, only "story
N was read in this hour, arriving from a search engine / social network / newsletter / elsewhere /
directly". A browser asking not to be tracked (Do Not Track, Global Privacy Control) is not
counted; nor are robots (by their user agent), nor ids of stories readers cannot see.

Counts are Redis hashes, one a UTC hour (`reads:h:<YYYYMMDDHH>`, story id → reads) and one a day
for where readers came from (`reads:from:<YYYYMMDD>`, "<id>:<kind>" → reads), kept two and eight
days. A batch of reads is one pipelined round trip. Rankings add up the hours they cover and are
kept a minute in the cache; the stories in them are looked up as readers may see them now, so a
withdrawn story leaves the rails the moment it is withdrawn."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from .models import Article

HOUR_KEEP, DAY_KEEP = 2 * 24 * 3600, 8 * 24 * 3600
KINDS = ("search", "social", "newsletter", "other", "direct")
ROBOTS = re.compile(
    r"bot|crawl|spider|slurp|fetch|preview|monitor|headless|python|curl|wget|scrapy|facebookexternalhit",
    re.IGNORECASE,
)
SEARCH = re.compile(r"(^|\.)(google|bing|duckduckgo|yahoo|ecosia|yandex|baidu|qwant|startpage)\.")
SOCIAL = re.compile(
    r"(^|\.)(facebook|fb|instagram|t\.co$|twitter|x\.com$|reddit|linkedin|tiktok|threads|"
    r"bsky|whatsapp|pinterest|snapchat|youtube)"
)
RANKED_KEY = "reads:ranked:{what}"
RANKED_FOR = 60  # seconds a ranking is kept before it is made again
KNOWN_FOR = 60  # seconds a worker trusts its list of stories readers may see
RECHECK_AFTER = 5  # seconds before an id it does not know sends it to look again
_known: tuple[float, frozenset[int]] = (0.0, frozenset())


def _redis():
    """The shared cache's Redis client, or None when the cache is not Redis (nothing counted)."""
    backend = cache._cache if hasattr(cache, "_cache") else None
    if backend is None or not hasattr(backend, "get_client"):
        return None
    if not getattr(cache, "available", True):  # Redis failed a moment ago: skipped a while
        return None
    return backend.get_client(write=True)


def can_count() -> bool:
    """Whether reads can be counted now (the cache is Redis, and Redis has not just failed)."""
    return _redis() is not None


def _key(pattern: str) -> str:
    return cache.make_key(pattern)


def is_countable(headers) -> bool:
    """Whether this request may be counted: not a robot, not a browser that asked not to be."""
    if headers.get("DNT") == "1" or headers.get("Sec-GPC") == "1":
        return False
    agent = headers.get("User-Agent", "")
    return bool(agent) and not ROBOTS.search(agent)


def kind_of(came_from: str, newsletter: bool) -> str:
    """Where a reader came from, as the desk names it, from the page's `document.referrer`."""
    if newsletter:
        return "newsletter"
    host = (urlsplit(came_from).hostname or "") if came_from else ""
    if not host:
        return "direct"
    site = urlsplit(settings.SITE_URL).hostname or ""
    if host == site:
        return "other"  # from another page of the site: still a read
    if SEARCH.search(host):
        return "search"
    if SOCIAL.search(host):
        return "social"
    return "other"


def is_visible(story_id: int) -> bool:
    """Whether readers may see the story, by this worker's list of them: looked at again after
    a minute, or after five seconds for an id it does not know (a story just published must
    not lose its first, busiest minute). One query, at most that often."""
    global _known
    looked, ids = _known
    age = time.monotonic() - looked
    if age > KNOWN_FOR or (story_id not in ids and age > RECHECK_AFTER):
        ids = frozenset(Article.objects.published().values_list("pk", flat=True))
        _known = (time.monotonic(), ids)
    return story_id in ids


def forget_visible() -> None:
    """Look at the list again at the next read (tests; after a bulk change in a shell)."""
    global _known
    _known = (0.0, frozenset())


def record(story_id: int, kind: str, *, at: datetime | None = None) -> bool:
    """Count one read of `story_id`; False when it is not counted (unknown story, no Redis)."""
    return record_many({(story_id, kind): 1}, at=at) == 1


def record_many(counts: Mapping[tuple[int, str], int], *, at: datetime | None = None) -> int:
    """Count reads, (story id, kind) → how many, in one pipelined round trip; the number
    counted (none of a story readers cannot see or of an unknown kind, none without Redis)."""
    counts = {key: n for key, n in counts.items() if key[1] in KINDS and is_visible(key[0])}
    client = _redis() if counts else None
    if client is None:
        return 0
    at = at or timezone.now()
    hour = _key(f"reads:h:{at.astimezone(UTC):%Y%m%d%H}")  # UTC hours: no hour twice a year
    day = _key(f"reads:from:{timezone.localtime(at):%Y%m%d}")
    per_story = Counter()
    for (story_id, _), n in counts.items():
        per_story[story_id] += n
    pipe = client.pipeline(transaction=False)
    for story_id, n in per_story.items():
        pipe.hincrby(hour, story_id, n)
    for (story_id, kind), n in counts.items():
        pipe.hincrby(day, f"{story_id}:{kind}", n)
    pipe.expire(hour, HOUR_KEEP)
    pipe.expire(day, DAY_KEEP)
    pipe.execute()
    return sum(counts.values())


def _hours(client, end: datetime, count: int) -> list[Counter]:
    """The counts of `count` clock hours ending with `end`'s, newest first."""
    pipe = client.pipeline(transaction=False)
    for back in range(count):
        pipe.hgetall(_key(f"reads:h:{(end - timedelta(hours=back)).astimezone(UTC):%Y%m%d%H}"))
    return [Counter({int(k): int(v) for k, v in hour.items()}) for hour in pipe.execute()]


def ranking(what: str, *, now: datetime | None = None) -> list[tuple[int, float]]:
    """(story id, score) best first: "most" read in the last 24 hours, or "trending": read
    in the last two hours far more than in the day before, weighted by how much. Kept a
    minute in the cache."""
    key = RANKED_KEY.format(what=what)
    if now is None and (kept := cache.get(key)) is not None:
        return kept
    client = _redis()
    if client is None:
        return []
    hours = _hours(client, now or timezone.now(), 24)
    if what == "most":
        total = sum(hours, Counter())
        ranked = [(pk, float(reads)) for pk, reads in total.most_common(50)]
    else:
        recent = hours[0] + hours[1]
        before = sum(hours[2:], Counter())
        scores = {
            pk: reads * reads / (reads + before[pk] / 11 + 5) for pk, reads in recent.items()
        }  # the last two hours against two hours' worth of the 22 before, damped for few reads
        ranked = sorted(scores.items(), key=lambda item: (-item[1], -item[0]))[:50]
    cache.set(key, ranked, RANKED_FOR)
    return ranked


def rail(what: str, *, section_id: int | None = None, limit: int = 5) -> list[Article]:
    """The stories of a ranking readers may see now (in `section_id` if given), best first,
    none on legal hold: one query for the ranking's stories."""
    ranked = [pk for pk, _ in ranking(what)]
    if not ranked:
        return []
    # A story the lawyers are still reading is not pushed to more readers.
    rows = Article.objects.published().filter(pk__in=ranked, legal_hold=False).for_links()
    if section_id is not None:
        rows = rows.filter(section_id=section_id)
    found = {story.pk: story for story in rows}
    return [found[pk] for pk in ranked if pk in found][:limit]


def per_story(story_id: int, *, days: int = 7, now: datetime | None = None) -> dict:
    """For the desk: a story's reads in each of the last 24 hours, and in each of the last
    `days` days by where readers came from."""
    client = _redis()
    now = now or timezone.now()
    if client is None:
        return {"hours": [], "days": []}
    hourly = [(now - timedelta(hours=back), hour[story_id]) for back, hour in
              enumerate(_hours(client, now, 24))]  # fmt: skip
    pipe = client.pipeline(transaction=False)
    dates = [timezone.localtime(now - timedelta(days=back)).date() for back in range(days)]
    for date in dates:
        pipe.hmget(_key(f"reads:from:{date:%Y%m%d}"), [f"{story_id}:{kind}" for kind in KINDS])
    daily = [
        (date, dict(zip(KINDS, (int(v or 0) for v in values), strict=True)))
        for date, values in zip(dates, pipe.execute(), strict=True)
    ]
    return {"hours": hourly, "days": daily}
