"""Synthetic articles in the seed-file format (`fixtures/seeds/`), the same bytes for the same
arguments on any machine: unique headlines, 3–30 paragraphs with quoted speech (some over several
paragraphs), teasers, the newsletter call-to-action, `Source:`, `Previous post`, `Next post`."""

import random
import re
from pathlib import Path

SEED = 2026
# Invented names only: these headlines are generated nonsense.
PEOPLE = [
    "Gary Pumphrey", "Dame Prudence Ashcombe", "Lord Fitzwilliam Crumb", "Shazza Kettleby",
    "Chef Rocco Pellini", "Tiffany Marsh", "Big Dave Rudge", "Councillor Edna Pike",
    "Barry Hobcroft", "Kayleigh Sprout", "Sir Monty Ravel", "Love Island star",
    "Coronation Street legend", "EastEnders actress", "Premier League ace", "Strictly judge",
    "TV chef", "Pub landlord", "Grandmother, 92,", "Dad-of-three", "Teenage TikToker",
    "Council boss", "Tory MP", "Labour frontbencher", "Royal butler", "Former spy",
    "Lottery winner", "Bin man", "Vicar", "Headteacher",
]  # fmt: skip
ACTIONS = [
    "slams", "breaks silence on", "left fuming over", "in tears over", "hits back at",
    "reveals truth about", "admits shock", "savaged over", "spotted with", "lifts lid on",
    "cashes in on", "sparks fury with", "issues grim warning over", "branded ‘disgrace’ over",
    "in secret talks over", "rushed to hospital after", "banned from", "snubs", "confronts",
    "mocked for",
]  # fmt: skip
THINGS = [
    "‘cursed’ holiday home", "£4m mansion", "secret wedding", "garden gnome row", "parking ticket",
    "celebrity feud", "bizarre diet", "haunted pub", "wheelie bin rules", "mystery illness",
    "lottery jackpot", "alien sighting", "killer heatwave", "pothole ‘the size of a car’",
    "energy bills", "Christmas lights", "pet python", "stolen sausage rolls", "noisy neighbours",
    "caravan holiday", "fake tan disaster", "reality TV comeback", "dating app match",
    "Brexit deal", "Ukraine invasion", "royal tour", "cost of living", "tattoo regret",
    "Eurovision entry", "meal deal price",
]  # fmt: skip
ENDINGS = [
    "", "", "", " after 20 years", " in furious rant", " as fans go wild", " in leaked texts",
    " live on air", " ‘for the last time’", " as police called", " amid family rift",
    " as bills soar", " in Spain", " in Blackpool", " in Manchester", " in Cardiff",
]  # fmt: skip
SPEAKERS = [
    "One Western official said:", "A source close to the star said:",
    "A neighbour told the Daily Star:", "A spokeswoman said:", "Another official said:",
    "She added:", "He told reporters:", "A police spokesman said:", "Her friend said:",
    "The insider claimed:",
]  # fmt: skip
WORDS = (
    "the a an and but as it was had been were would could they their them his her its "
    "government police officials fans family neighbours residents council minister stars "
    "claimed revealed said told warned admitted insisted believed reported described added "
    "shocking bizarre furious heartbroken stunned tragic incredible secret extraordinary "
    "yesterday tonight last week this morning earlier months years since before after during "
    "house street village town city country border hospital court school pub beach garden "
    "money bills prices millions thousands pounds dozens hundreds "
    "across over under through between around against without within "
    "investigation statement footage pictures video social media post comments message "
    "Britain London Russia Ukraine Spain Kremlin Westminster Manchester Liverpool Glasgow"
).split()
CTA_PLAIN = "For more stories, make sure you sign up to one of our newsletters here"
CTA_NAMED = (
    "For more shocking stories from the Daily Star, make sure you sign up to one of our "
    "newsletters here"
)
COMBINATIONS = len(PEOPLE) * len(ACTIONS) * len(THINGS) * len(set(ENDINGS))
SOURCES = [
    "Source: Read Full Article", "Source: Read Full Article", "Source: Daily Star",
    "Source: Mirror (https://www.mirror.co.uk/news/)",
]  # fmt: skip


def make_headlines(rng: random.Random, count: int) -> list[str]:
    headlines, seen = [], set()
    while len(headlines) < count:
        headline = "{} {} {}{}".format(*(rng.choice(w) for w in (PEOPLE, ACTIONS, THINGS, ENDINGS)))
        if len(seen) > 0.6 * COMBINATIONS:  # too few combinations left: number them
            headline += f" (part {len(headlines) + 1})"
        # Roughly the importer's headline key: case, punctuation and spacing do not count.
        key = " ".join(re.sub(r"[\W_]+", " ", headline.replace("’", "").casefold()).split())
        if key not in seen:
            seen.add(key)
            headlines.append(headline[0].upper() + headline[1:])
    return headlines


def sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(8, 26))
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words)), rng.choice(["it’s", "didn’t", "Britain’s", "£3m"]))
    if rng.random() < 0.15:
        words.insert(rng.randrange(len(words)), "–")
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(1, 4)))


def body_paragraphs(rng: random.Random, count: int) -> list[str]:
    """`count` body paragraphs; about one in four quoted speech, now and then running on over
    one or two more paragraphs (each opening with “, the last closing with ”)."""
    out: list[str] = []
    while len(out) < count:
        roll, left = rng.random(), count - len(out)
        if roll < 0.15:
            out.append(f"{rng.choice(SPEAKERS)} “{paragraph(rng)}”")
        elif roll < 0.25 and left >= 2:
            extra = rng.randint(1, min(2, left - 1))
            out.append(f"{rng.choice(SPEAKERS)} “{paragraph(rng)}")
            out += [f"“{paragraph(rng)}" for _ in range(extra - 1)] + [f"“{paragraph(rng)}”"]
        elif roll < 0.32:
            out.append(f"“{paragraph(rng)}”")
        else:
            out.append(paragraph(rng))
    return out


def article_text(rng: random.Random, headline: str, previous, following, others) -> str:
    blocks = body_paragraphs(rng, rng.randint(3, 30))
    for _ in range(rng.randint(0, 3)):
        blocks.insert(rng.randint(1, len(blocks)), f"  • {rng.choice(others)}")
    if rng.random() < 0.85:
        cta = CTA_NAMED if rng.random() < 0.3 else CTA_PLAIN
        blocks.insert(max(1, (len(blocks) * 2) // 3), cta)
    if rng.random() < 0.5:
        blocks.append(rng.choice(SOURCES))
    links = (("Previous post", previous), ("Next post", following))
    navigation = [f"{word} {title}" for word, title in links if title and rng.random() < 0.9]
    text = "\n\n".join([headline, *blocks, *(["\n".join(navigation)] if navigation else [])])
    return text + "\n"


def write_seed_files(directory: Path, count: int) -> int:
    """Write `count` seed-format files into `directory`; returns the bytes written."""
    rng = random.Random(f"newsroom-bench:{SEED}:{count}")
    headlines, written = make_headlines(rng, count), 0
    for index, headline in enumerate(headlines):
        previous = headlines[index - 1] if index else None
        following = headlines[index + 1] if index + 1 < count else None
        others = [headlines[rng.randrange(count)] for _ in range(3)]
        data = article_text(rng, headline, previous, following, others).encode("utf-8")
        (directory / f"{index:06d}_{rng.getrandbits(64):016x}.txt").write_bytes(data)
        written += len(data)
    return written
