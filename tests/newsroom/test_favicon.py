"""The favicon: /favicon.ico, where browsers and feed readers ask, and the icons pages link."""

import io
from xml.etree import ElementTree

import pytest
from django.contrib.staticfiles import finders
from PIL import Image


def test_favicon_ico_is_served_and_cacheable(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/vnd.microsoft.icon"
    assert "public" in response["Cache-Control"] and "max-age=" in response["Cache-Control"]
    icon = Image.open(io.BytesIO(response.content))
    assert icon.format == "ICO"
    assert {(16, 16), (32, 32)} <= set(icon.info["sizes"])


def test_the_icons_are_in_the_site_colours():
    icon = Image.open(finders.find("img/favicon.ico"))
    icon.size = (32, 32)
    corner = icon.convert("RGB").getpixel((1, 1))
    assert corner == (200, 16, 46)  # the masthead's red, --red in site.css
    touch = Image.open(finders.find("img/apple-touch-icon.png"))
    assert touch.size == (180, 180)
    svg = ElementTree.parse(finders.find("img/favicon.svg")).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert "#c8102e" in ElementTree.tostring(svg, encoding="unicode")


@pytest.mark.django_db
def test_pages_link_the_icons(client):
    html = client.get("/").content.decode()
    assert '<link rel="icon" href="/favicon.ico" sizes="16x16 32x32 48x48">' in html
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in html
    assert '<link rel="apple-touch-icon" href="/static/img/apple-touch-icon.png">' in html
