"""The parser on the outlet's real example file: every line means something."""

from pathlib import Path

import pytest

from articles.parsing import Kind, ParseError, headline_key, parse, parse_bytes

SEEDS = Path(__file__).resolve().parents[2] / "fixtures" / "seeds"
SEED = SEEDS / "000_6da195aad82aa6ad.txt"


@pytest.fixture(scope="module")
def seed():
    return parse_bytes(SEED.read_bytes())


def test_seed_headline_is_the_first_line(seed):
    assert seed.headline == (
        "Putin’s generals are ‘hiding disastrous truth’ about Ukraine invasion from him"
    )


def test_seed_has_sixteen_paragraphs_and_four_quotes(seed):
    assert seed.count(Kind.PARAGRAPH) == 16
    assert seed.count(Kind.QUOTE) == 4
    assert seed.blocks[0].text.startswith("Vladimir Putin's military chiefs")
    quotes = [block.text for block in seed.blocks if block.kind == Kind.QUOTE]
    assert quotes[0] == (
        "“I think we are much less certain that he is getting an honest picture on the ground.”"
    )


def test_seed_teasers_are_kept_in_place_and_not_body_text(seed):
    assert seed.teasers == (
        "Bombing hospitals, gassing children – the bloody atrocities of ‘Butcher of Mariupol’",
        "Porn star's eerie final post before she was found dead amid spate of industry suicides",
    )
    kinds = [block.kind for block in seed.blocks]
    first = kinds.index(Kind.TEASER)
    # The first teaser interrupts a quote: after "Another official said: “…" and before "“People…".
    assert seed.blocks[first - 1].text.startswith("Another official said:")
    assert seed.blocks[first + 1].text.startswith("“People will be being quite defensive")
    assert not any("•" in block.text for block in seed.blocks)


def test_seed_call_to_action_becomes_one_signup_slot_in_place(seed):
    signups = [i for i, block in enumerate(seed.blocks) if block.kind == Kind.SIGNUP]
    assert len(signups) == 1
    assert seed.blocks[signups[0] - 1].text.startswith("Praising Ukrainian resistance")
    assert seed.blocks[signups[0] + 1].text.startswith("Boris Johnson held phone talks")
    body_text = " ".join(b.text for b in seed.blocks if b.kind in (Kind.PARAGRAPH, Kind.QUOTE))
    assert "sign up to one of our newsletters" not in body_text


def test_seed_source_line_credits_the_publication_named_in_the_call_to_action(seed):
    assert seed.source.label == "Read Full Article"
    assert seed.source.name == "Daily Star"
    assert seed.source.url == ""


def test_seed_navigation_lines_give_previous_and_next_titles(seed):
    assert seed.previous_title == "Four women join CFTC in U.S. Senate vote hailed as historic"
    assert seed.next_title == (
        "NASA images reveal stunning ice volcanoes more than four miles high on Pluto"
    )
    body_text = " ".join(block.text for block in seed.blocks)
    assert "Previous post" not in body_text and "Source:" not in body_text


def test_every_line_of_the_seed_is_accounted_for(seed):
    lines = SEED.read_text(encoding="utf-8").splitlines()
    covered = set()
    for part in seed.parts:
        covered.update(range(part.first_line, part.last_line + 1))
    non_blank = {number for number, line in enumerate(lines, start=1) if line.strip()}
    assert non_blank == covered


def test_headline_key_ignores_quote_style_case_and_spacing():
    assert headline_key("Putin’s generals are ‘hiding’ truth") == headline_key(
        "PUTIN'S  generals are 'hiding' truth!"
    )
    assert headline_key("Μικροβουνάκι Goats") == "μικροβουνάκι goats"


def test_a_paragraph_that_mentions_newsletters_at_length_stays_body_text():
    long_paragraph = "The council voted to sign up to a newsletter scheme. " + "Word " * 80
    parsed = parse(f"Headline\n\n{long_paragraph}\n\nShort end.")
    assert parsed.count(Kind.SIGNUP) == 0
    assert parsed.count(Kind.PARAGRAPH) == 2


def test_a_second_call_to_action_is_dropped_not_shown_twice():
    cta = "For more stories, sign up to one of our newsletters here"
    parsed = parse(f"Headline\n\nOne.\n\n{cta}\n\nTwo.\n\n{cta}")
    assert [b.kind for b in parsed.blocks] == [Kind.PARAGRAPH, Kind.SIGNUP, Kind.PARAGRAPH]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \n\t\n  ", "only whitespace"),
        ("Just a headline\n", "headline only"),
        ("Headline\n\n  • A teaser\n\nSource: Somewhere\n\nNext post Other", "headline only"),
    ],
)
def test_text_without_a_story_is_refused_with_a_reason(text, reason):
    with pytest.raises(ParseError, match=reason):
        parse(text)


def test_prose_that_starts_like_a_navigation_line_stays_body_text():
    parsed = parse("Library news\n\nNext story time is at 3pm, said the librarian.\n\nSource:")
    assert parsed.next_title == ""
    assert parsed.blocks[0].text == "Next story time is at 3pm, said the librarian."
    assert parsed.source is None  # an empty Source line is dropped, not shown as text
    assert len(parsed.blocks) == 1


def test_utf16_without_a_byte_order_mark_is_read_for_non_latin_scripts():
    text = "Путин заявил\n\nГенералы скрывают правду о ходе войны.\n"
    for encoding in ("utf-16-le", "utf-16-be"):
        parsed = parse_bytes(text.encode(encoding))
        assert parsed.headline == "Путин заявил"
        assert parsed.blocks[0].text == "Генералы скрывают правду о ходе войны."
