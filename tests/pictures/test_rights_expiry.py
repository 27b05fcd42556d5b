"""When a picture's licence runs out it leaves every page, feed and JSON-LD by itself (the
stories stay up, without it), and no cached page outlives that moment."""

import re
from datetime import timedelta

import feedparser
import pytest
from django.urls import reverse
from django.utils import timezone

from articles.surrogates import upcoming_changes
from pictures.keys import image
from tests.articles.factories import ArticleFactory

from .factories import ImageFactory

pytestmark = pytest.mark.django_db


def test_an_expired_licence_takes_the_picture_off_every_page_feed_and_crawler_data(
    client, time_machine
):
    expiry = timezone.now() + timedelta(hours=2)
    picture = ImageFactory(
        licence="agency", rights_expire_at=expiry, alt_text="Red carpet arrivals at the premiere"
    )
    inline = ImageFactory(
        licence="agency", rights_expire_at=expiry, alt_text="The star signs autographs"
    )
    story = ArticleFactory(
        headline="Stars dazzle at premiere",
        hero_image=picture,
        body=f'<p>What a night.</p><p class="picture">Picture {inline.pk}</p>',
        tags=["premieres"],
    )
    pages = [
        "/",
        story.section.get_absolute_url(),
        story.get_absolute_url(),
        reverse("articles:tag", args=["premieres"]),
        reverse("articles:search") + "?q=premiere",
    ]
    feed_url = reverse("articles:feed-rss")

    def shown():
        found = {page: picture.alt_text in client.get(page).content.decode() for page in pages}
        feed = feedparser.parse(client.get(feed_url).content)
        found["feed"] = bool(feed.entries[0].get("media_content"))
        found["inline"] = inline.alt_text in client.get(story.get_absolute_url()).content.decode()
        page = client.get(story.get_absolute_url()).content.decode()
        json_ld = re.search(r'<script type="application/ld\+json">(.*?)</script>', page).group(1)
        found["json-ld"] = f"/renditions/{picture.pk}/" in json_ld
        return found

    assert all(shown().values()), shown()
    # Cached pages showing it end then.
    assert (expiry, {image(picture.pk)}) in upcoming_changes(timezone.now())

    time_machine.move_to(expiry + timedelta(seconds=1))

    assert not any(shown().values()), shown()
    response = client.get(story.get_absolute_url())
    assert response.status_code == 200 and "Stars dazzle at premiere" in response.content.decode()
