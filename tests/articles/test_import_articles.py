"""The `import_articles` command and the import service behind it."""

import os
import shutil
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from taggit.models import Tag, TaggedItem

from accounts.models import Author
from articles.models import Article, Section
from tests.articles.factories import ArticleFactory
from tests.conftest import database_vendor

SEEDS = Path(__file__).resolve().parents[2] / "fixtures" / "seeds"
SEED = SEEDS / "000_6da195aad82aa6ad.txt"
STORY = "Headline of a {n}\n\nFirst paragraph of story {n}.\n\n“Quoted,” said someone.\n"

pytestmark = pytest.mark.django_db


def run(*args, **options):
    """Run the command; return (stdout, stderr, error message or None)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("import_articles", *map(str, args), stdout=out, stderr=err, **options)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), str(exc)
    return out.getvalue(), err.getvalue(), None


@pytest.fixture
def seed_copy(tmp_path):
    path = tmp_path / "seed.txt"
    shutil.copy(SEED, path)
    return path


def test_importing_the_seed_published_creates_the_article_and_says_where_it_is(seed_copy):
    out, err, error = run(
        seed_copy, section="world", authors=["Newsroom Reporter"], status="published"
    )
    assert error is None and err == ""
    article = Article.objects.get()
    when = timezone.localtime(article.published_at).strftime("%H:%M, %-d %b %Y")
    assert (
        f"{seed_copy}: created {article.get_absolute_url()} (World, published {when}; "
        "UTF-8, LF (Unix))"
    ) in out
    assert "1 created, 0 updated, 0 unchanged, 0 failed (1 file)." in out
    assert article.headline.startswith("Putin’s generals")
    assert article.section.slug == "world"
    assert [a.name for a in article.authors.all()] == ["Newsroom Reporter"]
    assert article.status == Article.Status.PUBLISHED and article.is_visible
    assert article.source_name == "Daily Star" and article.source_label == "Read Full Article"
    assert article.previous_title.startswith("Four women join CFTC")
    assert article.next_title.startswith("NASA images reveal")
    assert article.body.count('<p class="teaser">') == 2
    assert article.body.count('<p class="newsletter-signup">') == 1
    assert article.body.count("<blockquote>") == 4
    assert "sign up to one of our newsletters" not in article.body
    assert article.word_count > 500 and article.reading_time == 3


def test_importing_the_same_file_twice_creates_nothing_new(seed_copy):
    run(seed_copy)
    out, _, error = run(seed_copy)
    assert error is None
    assert f"{seed_copy}: unchanged" in out
    assert "0 created, 0 updated, 1 unchanged, 0 failed" in out
    assert Article.objects.count() == 1


def test_the_same_story_under_another_file_name_is_unchanged(seed_copy, tmp_path):
    other = tmp_path / "renamed-copy.TXT"
    # Another platform's line endings and a byte order mark: still the same story.
    other.write_bytes(b"\xef\xbb\xbf" + seed_copy.read_bytes().replace(b"\n", b"\r\n"))
    out, _, error = run(seed_copy, other)
    assert error is None
    assert f"{other}: unchanged" in out
    assert Article.objects.count() == 1


def test_a_changed_file_updates_the_article_and_names_what_changed(seed_copy):
    run(seed_copy)
    article = Article.objects.get()
    seed_copy.write_text(
        seed_copy.read_text(encoding="utf-8").replace("western officials claim", "officials say"),
        encoding="utf-8",
    )
    out, _, error = run(seed_copy, section="politics")
    assert error is None
    assert f"{seed_copy}: updated (body, section; UTF-8, LF (Unix))" in out
    article.refresh_from_db()
    assert "officials say" in article.body and article.section.slug == "politics"
    assert Article.objects.count() == 1


def test_dry_run_reports_what_would_happen_and_writes_nothing(seed_copy, tmp_path):
    (tmp_path / "second.txt").write_text(STORY.format(n=2), encoding="utf-8")
    out, _, error = run(tmp_path, dry_run=True, authors=["Brand New Byline"])
    assert error is None
    assert f"{seed_copy}: would be created" in out
    assert "Dry run, nothing written: would have 2 created" in out
    assert Article.objects.count() == 0
    assert not Author.objects.filter(name="Brand New Byline").exists()


def test_dry_run_reports_updates_against_existing_rows(seed_copy):
    run(seed_copy)
    out, _, _ = run(seed_copy, dry_run=True, section="sport")
    assert f"{seed_copy}: would be updated (section; UTF-8, LF (Unix))" in out
    assert Article.objects.get().section.slug == "news"


def test_verbosity_two_reports_which_lines_became_which_parts(seed_copy):
    out, _, _ = run(seed_copy, verbosity=2)
    assert "line 1: headline: Putin’s generals" in out
    assert "line 3: paragraph: Vladimir Putin's military chiefs" in out
    assert "line 13: quote: “I think we are much less certain" in out
    assert "line 19: teaser: Bombing hospitals" in out
    assert "line 39: call-to-action (newsletter sign-up box): For more shocking stories" in out
    assert "line 49: source: Read Full Article" in out
    assert "line 51: previous: Four women join CFTC" in out
    assert "line 52: next: NASA images reveal" in out


def write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


BAD_FILES = {
    "empty.txt": (b"", "file is empty"),
    "blank.txt": (b"  \n\r\n\t \n", "only whitespace"),
    "headline-only.txt": (b"Only a headline here\n", "headline only"),
    "binary.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary"),
    "oversized.txt": (b"Big headline\n\n" + b"word " * 250_000, "too large"),
    "bad-bom.txt": (b"\xef\xbb\xbfHeadline\n\n\xff\xfe\xfa broken", "byte order mark"),
}


def test_bad_files_are_reported_by_name_and_reason_while_good_files_import(tmp_path):
    for name, (data, _) in BAD_FILES.items():
        write(tmp_path, name, data)
    good = write(tmp_path, "good.txt", STORY.format(n=1).encode())
    out, err, error = run(tmp_path)
    for name, (_, reason) in BAD_FILES.items():
        line = next(line for line in err.splitlines() if line.startswith(str(tmp_path / name)))
        assert "failed" in line and reason in line, line
    assert "Traceback" not in err
    assert f"{good}: created" in out
    assert f"1 created, 0 updated, 0 unchanged, {len(BAD_FILES)} failed" in out
    assert error == f"{len(BAD_FILES)} of {len(BAD_FILES) + 1} files could not be imported."
    assert Article.objects.count() == 1


def test_a_missing_path_is_a_failure_not_a_crash(tmp_path):
    out, err, error = run(tmp_path / "nope.txt")
    assert "nope.txt: failed: no such file" in err
    assert error is not None


@pytest.mark.parametrize(
    ("encoding", "line_ending"),
    [("utf-8-sig", "\r\n"), ("utf-16", "\n"), ("cp1252", "\r"), ("mac_roman", "\r\n")],
)
def test_newsroom_encodings_and_line_endings_import_the_same_story(
    tmp_path, seed_copy, encoding, line_ending
):
    text = seed_copy.read_text(encoding="utf-8").replace("\n", line_ending)
    variant = write(tmp_path, f"variant-{encoding}.txt", text.encode(encoding))
    run(seed_copy)
    pristine = Article.objects.get()
    pristine.delete()
    out, _, error = run(variant)
    assert error is None and ": created" in out
    article = Article.objects.get()
    assert article.headline == pristine.headline
    assert article.body == pristine.body
    assert (article.previous_title, article.next_title) == (
        pristine.previous_title,
        pristine.next_title,
    )


def test_directories_and_globs_are_expanded(tmp_path):
    nested = tmp_path / "2026" / "11"
    nested.mkdir(parents=True)
    write(nested, "a.txt", STORY.format(n="a").encode())
    write(tmp_path, "b.txt", STORY.format(n="b").encode())
    write(tmp_path, "notes.md", b"# not an article file")
    out, _, error = run(tmp_path)
    assert error is None and "2 created" in out and "notes.md" not in out
    Article.objects.all().delete()
    out, _, error = run(str(tmp_path / "**" / "*.txt"))
    assert error is None and "2 created" in out


def test_an_unknown_section_is_refused_before_anything_is_read(seed_copy):
    _, _, error = run(seed_copy, section="gossip")
    assert error.startswith("Unknown section “gossip”. Known sections: news, world")
    assert Article.objects.count() == 0


def test_without_the_default_section_the_import_stops_before_anything_is_read(seed_copy):
    Section.objects.filter(slug="news").delete()
    _, _, error = run(seed_copy)
    assert error.startswith("No section “news”, where new stories go unless --section names")
    assert "create it in the admin or pass --section" in error and "world" in error
    assert Article.objects.count() == 0
    _, _, error = run(seed_copy, section="world")  # named: no default needed
    assert error is None and Article.objects.get().section.slug == "world"


def test_status_option_sets_the_status_of_new_stories(seed_copy):
    run(seed_copy, status="draft")
    article = Article.objects.get()
    assert article.status == Article.Status.DRAFT and not article.is_visible


def test_teasers_link_to_stories_imported_before_or_after(tmp_path, client):
    first = write(
        tmp_path,
        "1.txt",
        "Zebra escapes zoo\n\nA zebra escaped.\n\n  • Keeper catches zebra\n".encode(),
    )
    second = write(
        tmp_path,
        "2.txt",
        "Keeper catches zebra\n\nHe caught it.\n\n  • Zebra escapes zoo\n".encode(),
    )
    run(first, status="published")
    run(second, status="published")  # imported after the story that teases it
    for article in Article.objects.all():
        other = Article.objects.exclude(pk=article.pk).get()
        html = client.get(article.get_absolute_url()).content.decode()
        assert f'<a href="{other.get_absolute_url()}">{other.headline}</a>' in html


def test_colliding_headlines_get_distinct_slugs(tmp_path):
    ArticleFactory(headline="Headline of a 1")  # written in the admin, not imported
    path = write(tmp_path, "x.txt", STORY.format(n=1).encode())
    out, _, error = run(path)
    assert error is None and "created" in out
    slugs = sorted(Article.objects.values_list("slug", flat=True))
    assert slugs == ["headline-of-a-1", "headline-of-a-1-2"]


@pytest.fixture
def refuse_headline():
    """A database trigger that refuses one headline: a real refusal, as a constraint added by
    a DBA or a concurrent writer would cause, in whichever database the suite runs on."""
    headline = "Refused by the database"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_article() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.headline = '{headline}' THEN RAISE EXCEPTION 'refused for this test'; "
                "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_article BEFORE INSERT ON articles_article "
                "FOR EACH ROW EXECUTE FUNCTION refuse_article()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER refuse_article BEFORE INSERT ON articles_article "
                f"WHEN NEW.headline = '{headline}' "
                "BEGIN SELECT RAISE(ABORT, 'refused for this test'); END"
            )
    return headline


def test_a_database_refusal_fails_that_file_only_and_leaves_nothing_behind(
    tmp_path, refuse_headline
):
    good_before = write(tmp_path, "a.txt", STORY.format(n=1).encode())
    bad = write(tmp_path, "b.txt", f"{refuse_headline}\n\nBody.".encode())
    good_after = write(tmp_path, "c.txt", STORY.format(n=2).encode())
    out, err, error = run(good_before, bad, good_after, tags=["zoo"], authors=["Someone"])
    assert f"{bad}: failed: database refused it:" in err and "refused for this test" in err
    assert f"{good_before}: created" in out and f"{good_after}: created" in out
    assert error == "1 of 3 files could not be imported."
    assert sorted(Article.objects.values_list("headline", flat=True)) == [
        "Headline of a 1",
        "Headline of a 2",
    ]
    # Bylines and tags exist for the stored stories only.
    assert Article.authors.through.objects.count() == 2
    assert TaggedItem.objects.count() == 2


def test_a_mangled_source_url_is_dropped_but_the_story_imports(tmp_path):
    path = write(tmp_path, "a.txt", b"Headline\n\nBody.\n\nSource: https://exa mple..com/x")
    out, _, error = run(path)
    assert error is None and "created" in out
    article = Article.objects.get()
    assert article.source_url == "" and article.source_label.startswith("https://exa")


def test_large_batches_show_progress(tmp_path, monkeypatch):
    from articles.management.commands import import_articles

    monkeypatch.setattr(import_articles, "PROGRESS_EVERY", 2)
    for n in range(5):
        write(tmp_path, f"{n}.txt", STORY.format(n=n).encode())
    out, err, error = run(tmp_path, batch_size=2)
    assert error is None and "5 created" in out
    assert [line.split(" files")[0] for line in err.splitlines()] == ["… 2", "… 4"]


def test_parsing_in_worker_processes_gives_the_same_results_in_order(tmp_path):
    for n in range(5):
        write(tmp_path, f"{n}.txt", STORY.format(n=n).encode())
    write(tmp_path, "5-empty.txt", b"")
    out, err, error = run(tmp_path, batch_size=2, parse_workers=1)
    names = [line.split(":")[0] for line in out.splitlines() if ": created" in line]
    assert names == [str(tmp_path / f"{n}.txt") for n in range(5)]
    assert f"{tmp_path / '5-empty.txt'}: failed: file is empty" in err
    assert error == "1 of 6 files could not be imported."
    assert Article.objects.count() == 5


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("writers", [1, 2])
def test_the_pipelined_import_keeps_order_duplicates_and_slugs_right(tmp_path, writers):
    """Outside a transaction a big import writes each batch from a second thread while the next
    is prepared. Stories repeated in a later batch, and different headlines whose slugs collide
    across batches, must come out as in a one-by-one import."""
    # The default section, made by a migration, is gone if a test before this flushed the data.
    Section.objects.get_or_create(slug="news", defaults={"name": "News"})
    # Under 255 characters, but with slugs cut (at 247) before the words that differ.
    long = ("Extraordinarily long headline about a council meeting " * 5)[:244].strip()
    stories = {
        "0.txt": STORY.format(n=0),
        "1.txt": f"{long} first\n\nOne.\n",
        "2.txt": STORY.format(n=2),
        "3.txt": STORY.format(n=0),  # the same story as 0.txt, one batch later
        "4.txt": f"{long} second\n\nTwo.\n",  # same slug base as 1.txt, two batches later
        "5.txt": "",
        "6.txt": STORY.format(n=6),
    }
    for name, text in stories.items():
        write(tmp_path, name, text.encode())
    out, err, error = run(tmp_path, batch_size=2, parse_workers=1, writers=writers)
    outcomes = [
        line.split(": ", 1)[1].split()[0]
        for line in out.splitlines()
        if line.startswith(str(tmp_path))
    ]
    assert outcomes == ["created", "created", "created", "unchanged", "created", "created"]
    assert f"{tmp_path / '5.txt'}: failed: file is empty" in err
    assert error == "1 of 7 files could not be imported."
    slugs = sorted(
        Article.objects.filter(headline__startswith="Extraordinarily").values_list(
            "slug", flat=True
        )
    )
    assert len(slugs) == 2 and slugs[1] == f"{slugs[0]}-2"
    assert Article.objects.count() == 5
    assert Article.authors.through.objects.count() == 0


@pytest.mark.skipif(
    database_vendor() != "postgresql",
    reason="batches are written side by side on PostgreSQL only (set DATABASE_URL=postgres://…)",
)
@pytest.mark.django_db(transaction=True)
def test_batches_written_side_by_side_share_a_new_tag_and_byline_without_a_refusal(
    tmp_path, monkeypatch
):
    """Two writers insert batches at once; the tag the command gives every story is new, and
    is made, committed, before any batch goes in: two transactions making the same new tag
    would have one refused, and its stories with it."""
    from articles.services import inserting

    tagged_before, real = [], inserting._create

    def create(articles, options):
        tagged_before.append(Tag.objects.filter(name="Gulls").exists())
        return real(articles, options)

    monkeypatch.setattr(inserting, "_create", create)
    Section.objects.get_or_create(slug="news", defaults={"name": "News"})
    for n in range(12):
        write(tmp_path, f"{n:02d}.txt", STORY.format(n=n).encode())
    options = {"tags": ["Gulls"], "authors": ["Maggie Thornbury"], "status": "published"}
    out, err, error = run(tmp_path, batch_size=2, parse_workers=1, writers=2, **options)
    assert error is None and err == "", err
    assert "12 created, 0 updated, 0 unchanged, 0 failed (12 files)." in out
    assert Tag.objects.filter(name__iexact="gulls").count() == 1
    assert len(tagged_before) == 6 and all(tagged_before)
    stories = Article.objects.prefetch_related("tags", "authors")
    assert len(stories) == 12
    assert {(s.tags.get().name, s.authors.get().name) for s in stories} == {
        ("Gulls", "Maggie Thornbury")
    }


# Hostile folders ------------------------------------------------------------------------------


def story_file(directory: Path, n: int) -> Path:
    return write(directory, f"story{n}.txt", STORY.format(n=n).encode())


@pytest.fixture
def outside(tmp_path):
    """A folder beside the one imported, holding what a server keeps: a secret and a story."""
    folder = tmp_path / "outside"
    folder.mkdir()
    write(folder, ".env", b"DJANGO_SECRET_KEY=real-secret\n\nDATABASE_URL=postgres://x\n")
    write(folder, "passwd.txt", b"root:x:0:0:root:/root:/bin/bash\n\ndaemon:x:1:1::/usr/sbin\n")
    return folder


def test_links_in_a_folder_are_refused_by_name_and_the_other_files_import(tmp_path, outside):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    story_file(inbox, 1)
    (inbox / "env.txt").symlink_to(outside / ".env")
    (inbox / "passwd.txt").symlink_to(outside / "passwd.txt")
    (inbox / "zero.txt").symlink_to("/dev/zero")
    (inbox / "loop.txt").symlink_to(inbox / "loop.txt")
    (inbox / "etc").symlink_to(outside, target_is_directory=True)

    out, err, error = run(inbox)

    assert error == "5 of 6 files could not be imported."
    assert Article.objects.get().headline == "Headline of a 1"
    for name in ("env.txt", "passwd.txt", "zero.txt", "loop.txt"):
        assert f"{inbox / name}: failed: is a symbolic link" in err
    assert f"{inbox / 'etc'}: failed: is a symbolic link" in err
    assert "real-secret" not in out + err and "root:x" not in out + err


def test_a_recursive_glob_does_not_walk_through_a_linked_folder(tmp_path, outside):
    archive = tmp_path / "archive" / "2026"
    archive.mkdir(parents=True)
    story_file(archive, 1)
    (tmp_path / "archive" / "etc").symlink_to(outside, target_is_directory=True)

    out, err, error = run(f"{tmp_path}/archive/**/*.txt")

    assert error == "1 of 2 files could not be imported."
    assert Article.objects.get().headline == "Headline of a 1"
    assert f"{tmp_path / 'archive' / 'etc'}: failed: is a symbolic link" in err
    assert "passwd" not in out + err


def test_special_files_are_refused_without_hanging(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    story_file(inbox, 1)
    os.mkfifo(inbox / "pipe.txt")  # opened for reading, it would wait for a writer forever

    out, err, error = run(inbox, inbox / "pipe.txt", "/dev/zero")

    assert error == "3 of 4 files could not be imported."
    assert Article.objects.count() == 1
    assert f"{inbox / 'pipe.txt'}: failed: is not a regular file" in err
    assert "/dev/zero: failed: is not a regular file" in err


def test_follow_links_reads_links_to_files_inside_the_folders_given_only(tmp_path, outside):
    inbox = tmp_path / "inbox"
    (inbox / "2026").mkdir(parents=True)
    real = story_file(inbox / "2026", 1)
    (inbox / "latest.txt").symlink_to(real)  # inside: read (the same story as its target)
    (inbox / "passwd.txt").symlink_to(outside / "passwd.txt")  # outside: refused

    out, err, error = run(inbox, follow_links=True)

    assert error == "1 of 3 files could not be imported."
    assert f"{inbox / 'latest.txt'}: created" in out
    assert f"{real}: unchanged" in out and Article.objects.count() == 1
    assert f"{inbox / 'passwd.txt'}: failed: is a symbolic link to a file outside" in err


def test_a_folder_named_by_a_link_is_the_operators_and_is_imported(tmp_path):
    release = tmp_path / "releases" / "2026-12"
    release.mkdir(parents=True)
    story_file(release, 1)
    (tmp_path / "current").symlink_to(release, target_is_directory=True)

    out, err, error = run(tmp_path / "current")

    assert error is None and Article.objects.get().headline == "Headline of a 1"


def test_the_size_limit_holds_whatever_the_file_is(tmp_path, settings):
    settings.NEWSROOM_IMPORT_MAX_BYTES = 1_000
    big = write(tmp_path, "big.txt", b"Big headline\n\n" + b"word " * 400)
    out, err, error = run(big)
    assert error == "1 of 1 files could not be imported."
    assert "too large (over the limit of 1,000 bytes)" in err


def test_headlines_without_letters_are_refused_not_merged_into_one_story(tmp_path):
    write(tmp_path, "a.txt", b"!!!\n\nThe first story's body.\n")
    write(tmp_path, "b.txt", "…?\n\nThe second story's body.\n".encode())
    out, err, error = run(tmp_path)
    assert error == "2 of 2 files could not be imported."
    assert err.count("has no letters or digits") == 2
    assert not Article.objects.exists()


def test_a_story_over_the_text_limit_is_refused_with_the_limit_named(tmp_path):
    words = " ".join(f"w{n:07x}" for n in range(40_000))  # 360,000 characters of distinct words
    write(tmp_path, "huge.txt", f"Huge headline\n\n{words}\n".encode())
    out, err, error = run(tmp_path)
    assert error == "1 of 1 files could not be imported."
    assert "the limit is 300,000" in err
    assert not Article.objects.exists()


def test_by_default_new_stories_go_into_review_and_reach_no_reader(seed_copy, client):
    out, _, error = run(seed_copy)
    assert error is None
    article = Article.objects.get()
    assert f"{seed_copy}: created {article.get_absolute_url()} (News, in review; " in out
    assert article.status == Article.Status.REVIEW and not article.is_visible
    assert client.get(article.get_absolute_url()).status_code == 404
    assert article.headline not in client.get("/").content.decode()


def test_an_archive_dated_by_its_files_keeps_its_dates_and_does_not_lead_the_front_page(
    tmp_path, client
):
    today = ArticleFactory(headline="Pier collapses in the storm")
    old = write(tmp_path, "old.txt", STORY.format(n="2019 story").encode())
    filed = datetime(2019, 3, 1, 12, 0, tzinfo=UTC)
    os.utime(old, (filed.timestamp(), filed.timestamp()))

    out, _, error = run(old, status="published", published_at="file")

    assert error is None
    article = Article.objects.get(headline="Headline of a 2019 story")
    assert article.published_at == filed and article.is_visible
    when = timezone.localtime(filed).strftime("%H:%M, %-d %b %Y")
    assert f"(News, published {when}; UTF-8, LF (Unix))" in out
    home = client.get("/").content.decode()
    # Today's story leads; the archive's is placed by its date, after it (if at all).
    assert today.headline in home
    assert article.headline not in home.split(today.headline, 1)[0]
    assert client.get(article.get_absolute_url()).status_code == 200


@pytest.mark.parametrize(
    ("raw", "found"),
    [
        (b"\xef\xbb\xbf" + STORY.format(n=1).encode().replace(b"\n", b"\r\n"),
         "UTF-8 with a byte order mark, CRLF (Windows)"),
        (STORY.format(n=1).encode("cp1252").replace(b"\n", b"\r"),
         "Windows-1252, CR (classic Mac)"),
        (STORY.format(n=1).encode("utf-16"), "UTF-16 LE with a byte order mark, LF (Unix)"),
        (STORY.format(n=1).encode().replace(b"\n\n", b"\r\n\n", 1),
         "UTF-8, mixed: CRLF (Windows), LF (Unix)"),
    ],
    ids=["utf-8 bom crlf", "windows-1252 cr", "utf-16", "mixed"],
)  # fmt: skip
def test_the_report_names_the_encoding_and_line_endings_found(tmp_path, raw, found):
    path = write(tmp_path, "story.txt", raw)
    out, _, error = run(path)
    assert error is None
    assert f"(News, in review; {found})" in out
    assert Article.objects.get().headline == "Headline of a 1"


def test_a_publication_time_that_is_not_one_is_refused_with_the_choices(seed_copy):
    _, _, error = run(seed_copy, status="published", published_at="yesterday")
    assert "“yesterday” is not a date and time" in error and "“file” or “now”" in error
    assert Article.objects.count() == 0


def test_no_writer_at_all_is_refused_with_the_options_limits(seed_copy):
    _, _, error = run(seed_copy, writers=0)
    assert error == "--batch-size and --writers must be at least 1, --parse-workers at least 0."
    assert Article.objects.count() == 0
