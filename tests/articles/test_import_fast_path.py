"""The importer's fast paths give what the slow ones gave: stories inserted by COPY are the rows
`bulk_create` inserted (fields, bylines, tags, search vectors), and a batch validates each
value once without letting an invalid one through."""

import shutil
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from taggit.models import TaggedItem

from articles.models import Article, Section
from articles.parsing import ParseError
from articles.services import inserting
from articles.services.import_types import ImportOptions, Outcome
from articles.services.importing import import_batch
from articles.services.reading import PreparedStory
from newsroom import copying
from newsroom.copying import copy_insert, copy_value
from tests.conftest import database_vendor

SEEDS = Path(__file__).resolve().parents[2] / "fixtures" / "seeds"
SKIPPED = {"id", "created_at", "updated_at"}  # ids and times of the run, not of the file

pytestmark = pytest.mark.django_db
by_copy = pytest.mark.skipif(
    database_vendor() != "postgresql",
    reason="COPY is PostgreSQL's; SQLite inserts by bulk_create (set DATABASE_URL=postgres://…)",
)


def _stored() -> list[dict]:
    """Every story as stored, with its search vector as text, bylines and tags."""
    columns = [f.column for f in Article._meta.concrete_fields if f.column not in SKIPPED]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT {", ".join(columns)}, search_vector::text AS vector,
                (SELECT array_agg(au.name ORDER BY au.name) FROM articles_article_authors aa
                 JOIN accounts_author au ON au.id = aa.author_id WHERE aa.article_id = a.id),
                (SELECT array_agg(t.name ORDER BY t.name) FROM taggit_taggeditem ti
                 JOIN taggit_tag t ON t.id = ti.tag_id WHERE ti.object_id = a.id)
            FROM articles_article a ORDER BY import_key"""
        )
        names = [*columns, "vector", "authors", "tags"]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _import(directory: Path) -> str:
    out = StringIO()
    call_command(
        "import_articles", str(directory), stdout=out, stderr=StringIO(), section="world",
        authors=["Ann Writer", "Bob Writer"], tags=["Archive", "zoo"], status="published",
        published_at="2026-03-01T09:30:00Z", batch_size=5,
    )  # fmt: skip
    return out.getvalue()


@by_copy
def test_stories_inserted_by_copy_are_the_rows_bulk_create_inserted(tmp_path, monkeypatch):
    shutil.copytree(SEEDS, tmp_path / "seeds")
    # What COPY's text format escapes, in a headline and a body: backslashes.
    (tmp_path / "seeds" / "zz.txt").write_text(
        "Path C:\\new\\tab row\n\nA body with \\n, \\t and \\\\ in it.\n\n“Quoted,” said one.\n"
    )
    files = len(list((tmp_path / "seeds").glob("*.txt")))
    assert f"{files} created" in _import(tmp_path / "seeds")
    by_copy = _stored()
    Article.objects.all().delete()
    TaggedItem.objects.all().delete()

    monkeypatch.setattr(inserting, "_by_copy", lambda: False)
    assert f"{files} created" in _import(tmp_path / "seeds")
    assert _stored() == by_copy
    assert len(by_copy) == files and all(row["vector"] for row in by_copy)
    assert "Path C:\\new\\tab row" in [row["headline"] for row in by_copy]


@by_copy
def test_copy_insert_stores_text_as_given_and_sets_the_keys(monkeypatch):
    section = Section.objects.get(slug="news")
    text = "tab\there, line\nbreak, return\rand back\\slash, \\N not null"
    copied = Article(headline="Copied", slug="copied", section=section, standfirst=text)
    saved = Article(headline="Copied", slug="saved", section=section, standfirst=text)
    copy_insert([copied], skip=["search_vector"])
    saved.save()
    assert copied.pk is not None and not copied._state.adding
    rows = Article.objects.filter(pk__in=[copied.pk, saved.pk]).order_by("slug")
    (c_text, c_vector), (s_text, s_vector) = rows.values_list("standfirst", "search_vector")
    assert c_text == s_text == text
    assert c_vector == s_vector and "tab" in c_vector  # the trigger filled it in, the same


@by_copy
def test_rows_longer_than_the_chunks_copy_reads_arrive_whole_whatever_their_characters():
    """The rows reach COPY in UTF-8 chunks of `COPY_CHUNK` bytes, made as it reads: a character
    of several bytes cut between two chunks, or a row over several chunks, arrives whole."""
    section = Section.objects.get(slug="news")
    bodies = [
        "<p>" + "“Ça”, £3m – 北京 🐍 " * (copying.COPY_CHUNK // 9) + "</p>",  # over a chunk
        "<p>short</p>",
        "<p>" + "é" * (copying.COPY_CHUNK - 7) + "</p>",  # ends across the first boundary
    ]
    stories = [
        Article(headline=f"Chunk {n}", slug=f"chunk-{n}", section=section, body=body)
        for n, body in enumerate(bodies)
    ]
    copy_insert(stories, skip=["search_vector"])
    stored = dict(Article.objects.filter(slug__startswith="chunk-").values_list("slug", "body"))
    assert stored == {f"chunk-{n}": body for n, body in enumerate(bodies)}


def test_copy_reads_the_lines_in_the_sizes_asked_for():
    lines = copying._Lines([("a", "é"), ("b", None)])
    assert lines.read(3) == b"a\t\xc3"
    assert lines.read(100) == b"\xa9\nb\t\\N\n"
    assert lines.read(100) == b"" and lines.read() == b""
    assert copying._Lines([("x",), ("y",)]).read() == b"x\ny\n"


def test_copy_values_are_in_copys_text_format():
    assert copy_value(None) == r"\N" and copy_value(True) == "t" and copy_value(False) == "f"
    assert copy_value("a\\b\tc\nd\re") == "a\\\\b\\tc\\nd\\re"
    assert copy_value(datetime(2026, 3, 1, 9, 30, tzinfo=UTC)) == "2026-03-01T09:30:00+00:00"
    with pytest.raises(TypeError):
        copy_value(object())


def _story(n: int, body: str = "<p>Body.</p>") -> PreparedStory:
    from articles.body import plain_text
    from articles.parsing import parse

    text = plain_text(body)
    return PreparedStory(parse(f"Story number {n}\n\nBody.\n"), body, len(text.split()), len(text))


def test_a_batch_checks_every_row_however_many_it_has_found_valid():
    """A value shared by the rows is checked until one row passes; the file's own values are
    checked in every row."""
    too_long = "<p>" + "x" * 300_001 + "</p>"
    items = [
        ("a.txt", _story(1)),
        ("b.txt", _story(2, body=too_long)),
        ("c.txt", ParseError("file is empty")),
        ("d.txt", _story(3)),
        ("e.txt", _story(4, body=too_long)),
    ]
    results = import_batch(items, options=ImportOptions())
    assert [r.outcome for r in results] == [
        Outcome.CREATED, Outcome.FAILED, Outcome.FAILED, Outcome.CREATED, Outcome.FAILED,
    ]  # fmt: skip
    assert results[1].reason.startswith("not valid: body:")
    assert results[4].reason == results[1].reason
    assert Article.objects.count() == 2

    # An invalid option fails every file, not only the first of the batch.
    Article.objects.all().delete()
    results = import_batch(items[:1] + items[3:4], options=ImportOptions(status="nonsense"))
    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.FAILED]
    assert all("status:" in r.reason for r in results)
    assert not Article.objects.exists()


# The cleaning steps as they were before their quick checks, for comparison.
def _decoded_before(raw: bytes):
    from articles.parsing import decoding as d

    text, encoding = d._decode_bytes(raw)
    endings = d.line_endings(text)
    if d.MOJIBAKE_HINT.search(text):
        fixed = d.ftfy.fix_text(text, config=d.FTFY_KEEP_CONTROLS)
        if fixed != d.unicodedata.normalize("NFC", d.LINE_BREAKS.sub("\n", text)):
            encoding += ", mojibake repaired"
        text = fixed
    else:
        text = d.LINE_BREAKS.sub("\n", d.unicodedata.normalize("NFC", text))
    text = d.SOFT_BREAKS.sub(" ", text)
    if len(d.CONTROL.findall(text)) > max(2, len(text) // 100):
        raise ParseError("file is binary, not text (it is full of control characters)")
    return d.Decoded(d.CONTROL.sub("", text), encoding, endings)


ALPHABET = (
    "ab Zé’“”  \t\n\r\u00a0\u2009\u3000\u200b\u00ad\ufeff\x0b\x0c\x07\x85\u2028\u2029Ã©â€™Â<p>&amp;"
)


def _parsed(text: str):
    from articles.parsing import parse

    try:
        parsed = parse(text)
    except ParseError as exc:
        return str(exc)
    return parsed, parsed.parts


def test_the_quick_checks_clean_text_as_the_full_passes_did(monkeypatch):
    import random
    import re

    from articles.parsing import decode_file, structure

    rng = random.Random(7)
    texts = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 60))) for _ in range(3000)]
    texts += [path.read_text() for path in sorted(SEEDS.glob("*.txt"))]
    for text in texts:
        raw = ("Headline\n\n" + text).encode()
        try:
            expected = _decoded_before(raw)
        except ParseError as exc:
            with pytest.raises(ParseError, match=re.escape(str(exc))):
                decode_file(raw)
        else:
            assert decode_file(raw) == expected, text
    quick = [_parsed("Headline\n\n" + text) for text in texts]
    monkeypatch.setattr(structure, "UNCLEAN", re.compile(r"[\s\S]"))  # always the full passes
    assert [_parsed("Headline\n\n" + text) for text in texts] == quick
