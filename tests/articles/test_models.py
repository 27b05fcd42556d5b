"""Article rules that hold however a row is saved."""

import pytest

from articles.models import SLUG_MAX_LENGTH, Article, article_slug
from tests.articles.factories import ArticleFactory

pytestmark = pytest.mark.django_db


def test_slug_is_made_from_the_headline_and_stays_unique_when_headlines_collide():
    slugs = [ArticleFactory(headline="Same old story").slug for _ in range(3)]
    assert slugs == ["same-old-story", "same-old-story-2", "same-old-story-3"]


@pytest.mark.parametrize(
    ("headline", "slug"),
    [
        ("Путин заявил о победе", "путин-заявил-о-победе"),
        ("北京 烤鸭 节", "北京-烤鸭-节"),
        ("!!! ??? …", "story"),
    ],
)
def test_slugs_are_safe_for_non_latin_and_symbol_only_headlines(headline, slug):
    assert ArticleFactory(headline=headline).slug == slug


def test_slug_never_exceeds_the_column_even_with_a_collision_suffix():
    headline = ("Extraordinarily long headline words " * 10)[:255]
    first, second = ArticleFactory(headline=headline), ArticleFactory(headline=headline)
    assert len(article_slug(headline)) <= SLUG_MAX_LENGTH - 8
    assert second.slug == f"{first.slug}-2"
    assert len(second.slug) <= SLUG_MAX_LENGTH
    assert not first.slug.endswith("-")


def test_body_is_sanitised_on_every_save():
    article = ArticleFactory(
        body='<p onclick="steal()">Hi <a href="javascript:alert(1)">x</a></p>'
        '<script>alert(1)</script><p class="teaser evil">T</p>'
        '<p class="newsletter-signup" style="x">Box</p><aside>Gone</aside>'
    )
    article.refresh_from_db()
    assert "onclick" not in article.body and "script" not in article.body
    assert "javascript:" not in article.body
    assert '<p class="teaser">T</p>' in article.body
    assert '<p class="newsletter-signup">Box</p>' in article.body
    assert "<aside" not in article.body and "Gone" in article.body


def test_word_count_and_reading_time_exclude_teasers():
    words = " ".join(["word"] * 460)
    article = ArticleFactory(
        body=f'<p>{words}</p><p class="teaser">Not counted</p>'
        '<p class="newsletter-signup">Nor this</p>'
    )
    assert article.word_count == 460
    assert article.reading_time == 2


def test_a_published_article_must_have_a_publication_time():
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        Article.objects.create(
            headline="No time",
            section_id=ArticleFactory().section_id,
            status=Article.Status.PUBLISHED,
            published_at=None,
        )
