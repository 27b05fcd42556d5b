"""What happens whenever content is saved, whoever saves it (admin, services, importer, shell).

- Cached public pages showing what changed go stale, here and at the edge: the receivers here
  are the one place that decides which (by surrogate key, `articles.surrogates`). They listen
  to Django's save, delete and many-to-many signals, and to `stories_inserted`, which the
  importer sends for its bulk inserts (`bulk_create` sends no signals). A story's state before
  the save is read in `pre_save` (one query by primary key) to know which listings it leaves.
  Purges go out after the change commits (`newsroom.cache.purge`).
- Text reaches the database without control characters (`Article.save` cleans its own first,
  as its slug and identity derive from the headline).
"""

from functools import partial

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import Signal
from django.utils import timezone
from django.utils.text import slugify
from taggit.models import Tag, TaggedItem

from accounts.models import Author
from newsroom.cache import ALL, purge
from newsroom.links import address
from newsroom.text import clean_text_fields

from . import surrogates
from .models import Article, Correction, LiveEntry, OldAddress, Section, Transition
from .models.choices import Status
from .notifications import notify_task

# Sent after a bulk insert of stories with `articles`, the instances as inserted, and `lists`,
# each one's (tag ids, byline ids) by primary key.
stories_inserted = Signal()
# Sent after a story is saved with `article`, `was_visible` and `visible` (to readers, before
# and after) and `text` (its headline, standfirst or body changed): for those outside this app
# that announce stories (the content API's webhooks), which this app does not know of.
story_changed = Signal()

PLACED_BY = ("status", "published_at", "section_id", "headline", "is_featured")
ADDRESSED_BY = ("slug", "section_id")
PLACED_BY += ("is_breaking", "breaking_until", "unpublish_at")
TEXT = ("headline", "standfirst", "body")


def _moment(name: str, value):
    """A time field's value as a datetime (a row saved with a string holds the string)."""
    return Article._meta.get_field(name).to_python(value) if isinstance(value, str) else value


def _lists(pks) -> dict[int, tuple[frozenset, frozenset]]:
    """The tag ids and byline ids of each story: two queries however many."""
    found = {pk: (set(), set()) for pk in pks}
    kind = ContentType.objects.get_for_model(Article)
    tagged = TaggedItem.objects.filter(object_id__in=found, content_type=kind)
    for pk, tag_id in tagged.values_list("object_id", "tag_id"):
        found[pk][0].add(tag_id)
    bylines = Article.authors.through.objects.filter(article_id__in=found)
    for pk, author_id in bylines.values_list("article_id", "author_id"):
        found[pk][1].add(author_id)
    return {pk: (frozenset(tags), frozenset(authors)) for pk, (tags, authors) in found.items()}


def _placement(pk, values: dict, *, lists=None) -> surrogates.Placement:
    """Where a story in this state is listed; `lists`: its (tag ids, byline ids), when they
    matter (it enters or leaves listings), from `_lists`."""
    now = timezone.now()
    published_at = _moment("published_at", values["published_at"])
    visible = values["status"] == Status.PUBLISHED and published_at is not None
    visible = visible and published_at <= now
    ends = _moment("unpublish_at", values["unpublish_at"])
    visible = visible and (ends is None or ends > now)
    until = _moment("breaking_until", values["breaking_until"])
    tags, authors = lists if lists and visible else (frozenset(), frozenset())
    return surrogates.Placement(
        pk=pk,
        visible=visible,
        published_at=published_at,
        section_id=values["section_id"],
        headline=values["headline"],
        featured=values["is_featured"],
        breaking=values["is_breaking"] and (until is None or until > now),
        tag_ids=tags,
        author_ids=authors,
    )


def _article_before(sender, instance, raw=False, **kwargs):
    """What the row was, for `_article_saved` to compare with (None for a new one)."""
    instance._placement_before = None
    if raw or instance._state.adding or instance.pk is None:
        return
    row = Article.objects.filter(pk=instance.pk).values(*PLACED_BY, *TEXT, "slug").first()
    instance._placement_before = row


def _article_saved(sender, instance, created=False, raw=False, **kwargs):
    if raw:
        return
    row = getattr(instance, "_placement_before", None)
    now = {field: getattr(instance, field) for field in (*PLACED_BY, *TEXT)}
    after = _placement(instance.pk, now)
    before = _placement(instance.pk, row) if row else None
    if (
        before is None
        or before.visible != after.visible
        or (after.visible and before.published_at != after.published_at)
    ):  # it enters or leaves listings: those of its tags and bylines too
        lists = _lists([instance.pk])[instance.pk]
        after = _placement(instance.pk, now, lists=lists)
        before = _placement(instance.pk, row, lists=lists) if row else None
    text = row is not None and any(row[field] != now[field] for field in TEXT)
    if row is not None and any(row[f] != getattr(instance, f) for f in ADDRESSED_BY):
        _keep_old_address(instance, row)
    keys = surrogates.for_change(before, after, text=text)
    where = (after.visible, after.published_at, after.section_id)
    if before is None or (before.visible, before.published_at, before.section_id) != where:
        keys |= _rails([before, after])  # it entered, left or moved in its section's order
    purge(keys, soft=after.visible)
    was_visible = before is not None and before.visible
    story_changed.send(
        sender=Article, article=instance, was_visible=was_visible, visible=after.visible, text=text
    )


def _keep_old_address(story, row) -> None:
    """A story readers could reach has a new address: its old one keeps working (a 301), and
    any old address that is now its own again is forgotten."""
    OldAddress.objects.filter(path=story.get_absolute_url()).delete()
    if row["status"] == Status.DRAFT or row["published_at"] is None:
        return  # never out: no address of it to keep
    section = Section.objects.filter(pk=row["section_id"]).values_list("slug", flat=True).first()
    if section:
        old = address("articles:detail", section, row["slug"])
        OldAddress.objects.update_or_create(path=old, defaults={"article": story})


def _rails(placements) -> set[str]:
    """The story pages whose "related stories" rail (`earlier_in_section`) shows, or will
    show, one of these placements."""
    shown = [
        (p.pk, p.section_id, p.published_at) for p in placements if p is not None and p.visible
    ]
    pks = Article.objects.rails_showing(shown, surrogates.RELATED_RAIL)
    return {surrogates.rail(pk) for pk in pks}


def _article_deleted(sender, instance, **kwargs):
    values = {field: getattr(instance, field) for field in PLACED_BY}
    gone = _placement(instance.pk, values)
    purge(surrogates.for_change(gone, None) | _rails([gone]))


def _inserted(sender, articles, lists, **kwargs):
    """The importer's new stories: the listings they enter (their tags' and bylines' too), in
    one query (the rails). Not their own keys: no page can show a story just made."""
    placed = [
        _placement(a.pk, {f: getattr(a, f) for f in PLACED_BY}, lists=lists[a.pk]) for a in articles
    ]
    keys = set().union(*(p.listings() for p in placed)) if placed else set()
    purge(keys | _rails(placed), soft=True)


def _tagging(sender, instance, raw=False, **kwargs):
    """A story tagged or untagged: its page (the tag's name) and the tag's listing."""
    if raw or instance.content_type_id != ContentType.objects.get_for_model(Article).pk:
        return
    keys = {surrogates.story(instance.object_id), surrogates.tag_listing(instance.tag_id)}
    purge(keys | {surrogates.FEEDS}, soft=True)


def _bylines(sender, instance, action, pk_set=None, reverse=False, **kwargs):
    """Bylines added or removed: the story's cards and the authors' listings."""
    if action not in {"post_add", "post_remove", "pre_clear"}:
        return
    if reverse:  # from the author's side: `instance` is the author, pk_set the stories
        stories, authors = (
            pk_set or set(instance.articles.values_list("pk", flat=True)),
            {instance.pk},
        )
    else:
        stories = {instance.pk}
        authors = pk_set or set(instance.authors.values_list("pk", flat=True))
    keys = {surrogates.story(pk) for pk in stories}
    purge(keys | {surrogates.author_listing(pk) for pk in authors}, soft=True)


def _related(sender, instance, action, pk_set=None, reverse=False, **kwargs):
    if action in {"post_add", "post_remove", "post_clear"}:
        purge(
            {surrogates.story(instance.pk)} | {surrogates.story(pk) for pk in pk_set or ()},
            soft=True,
        )


def _correction(sender, instance, raw=False, **kwargs):
    if not raw:
        # The story's "Updated" time too (`Correction.save`): in its sitemap entry.
        keys = {surrogates.story(instance.article_id), surrogates.CORRECTIONS, surrogates.SITEMAPS}
        purge(keys, soft=True)


def _live_entry(sender, instance, raw=False, **kwargs):
    """An entry posted, approved, edited or removed: its blog's page, fragment and permalinks.
    A removal is hard (no old copy given meanwhile), like a takedown."""
    if not raw:
        soft = instance.status != LiveEntry.Status.REMOVED
        purge({surrogates.live(instance.article_id)}, soft=soft)


def _moved(sender, instance, created=False, raw=False, **kwargs):
    """A story moved (submitted, returned, published): the desk is told once it commits."""
    if created and not raw:
        transaction.on_commit(partial(notify_task.enqueue, instance.pk))


def _author(sender, instance, raw=False, **kwargs):
    if not raw:
        purge({surrogates.author(instance.pk), surrogates.author_listing(instance.pk)}, soft=True)


def _tag(sender, instance, raw=False, **kwargs):
    if not raw:
        purge({surrogates.tag(instance.pk), surrogates.tag_listing(instance.pk)}, soft=True)


def _section(sender, instance, raw=False, **kwargs):
    """Sections are in every page's navigation: every page."""
    if not raw:
        purge({ALL}, soft=True)


def _clean_text(sender, instance, raw=False, **kwargs):
    if not raw:  # fixtures are loaded as they are
        clean_text_fields(instance)


def _tag_slug(sender, instance, raw=False, **kwargs):
    """A tag of symbols alone ("!!!", "🔥") gets a slug of its code points, not an empty one
    (an empty slug made every page showing the tag a 500)."""
    if not raw and instance._state.adding and not slugify(instance.slug, allow_unicode=True):
        instance.slug = "tag-" + "-".join(f"{ord(c):x}" for c in instance.name.strip()[:20])


def connect():
    for model in (Correction, Section, Author, Tag, LiveEntry):
        pre_save.connect(_clean_text, sender=model, dispatch_uid=f"clean-text-{model.__name__}")
    pre_save.connect(_tag_slug, sender=Tag, dispatch_uid="tag-slug")
    pre_save.connect(_article_before, sender=Article, dispatch_uid="page-cache-article-before")
    post_save.connect(_article_saved, sender=Article, dispatch_uid="page-cache-article-saved")
    post_delete.connect(_article_deleted, sender=Article, dispatch_uid="page-cache-article-gone")
    stories_inserted.connect(_inserted, sender=Article, dispatch_uid="page-cache-inserted")
    receivers = [(TaggedItem, _tagging), (Correction, _correction), (Author, _author)]
    receivers += [(LiveEntry, _live_entry)]
    receivers += [(Tag, _tag), (Section, _section)]
    for model, receiver in receivers:
        for signal, when in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(
                receiver, sender=model, dispatch_uid=f"page-cache-{when}-{model.__name__}"
            )
    post_save.connect(_moved, sender=Transition, dispatch_uid="desk-notify-move")
    m2m_changed.connect(_bylines, sender=Article.authors.through, dispatch_uid="page-cache-bylines")
    m2m_changed.connect(_related, sender=Article.related.through, dispatch_uid="page-cache-related")
