"""Each story in a newsletter edition comes with its picture: an absolute link to a JPEG,
sized for the email's column; a picture whose licence has run out is left out."""

from datetime import timedelta

import lxml.html
import pytest
from django.conf import settings
from django.utils import timezone

from newsletters.services import emails
from tests.articles.factories import ArticleFactory
from tests.pictures.factories import ImageFactory

from .factories import EditionFactory

pytestmark = pytest.mark.django_db


def test_every_story_has_its_picture_absolute_and_sized_for_email_clients(time_machine):
    shown = ArticleFactory(
        headline="Seagull steals chips",
        hero_image=ImageFactory(file__width=1600, file__height=900, credit="Pier Cam"),
    )
    expiring = ArticleFactory(
        headline="Stars at the premiere",
        hero_image=ImageFactory(
            licence="agency", rights_expire_at=timezone.now() + timedelta(hours=1)
        ),
    )
    plain = ArticleFactory(headline="No picture")
    edition = EditionFactory(stories=[shown, expiring, plain])

    document = lxml.html.fromstring(emails.render_edition(edition).html)
    pictures = document.xpath("//img")
    assert len(pictures) == 2
    first = pictures[0]
    assert first.get("src").startswith(f"{settings.SITE_URL}/media/renditions/")
    assert first.get("src").endswith("/wide-800.jpeg")
    assert (first.get("width"), first.get("height")) == ("552", "310")
    assert first.get("alt") == shown.hero_image.alt_text
    assert "Picture: Pier Cam" in document.text_content()
    assert first.getparent().get("href").endswith(shown.get_absolute_url())

    time_machine.move_to(timezone.now() + timedelta(hours=2))
    assert len(lxml.html.fromstring(emails.render_edition(edition).html).xpath("//img")) == 1
