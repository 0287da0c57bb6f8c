"""Write sample_data/books/: four book-length texts plus a truncated .txt.gz (see sample_data/README.md)."""

from __future__ import annotations

import gzip
import random
import re
from pathlib import Path

from gen import book_almanac, book_fieldnotes, book_lamplighter
from gen.prose import Prose, roman, wrap

LAMPLIGHTER = "books/the-lamplighter-of-harrowgate.txt"
REVISED = "books/the-lamplighter-of-harrowgate-revised-edition.txt"
FIELD_NOTES = "books/field-notes-on-light.txt.gz"
ALMANAC = "books/a-river-almanac.txt"
LETTERS = "books/letters-from-carrow-point.txt.gz"

# Planted in the middle of the almanac: a paragraph pasted from a windows-1252 source (é ë – “ ” as single
# bytes) followed by a run of bytes from a broken copy. 0x81, 0x8D and 0x90 are undefined in windows-1252, so
# no single-byte fallback can decode the file cleanly either.
INVALID_UTF8 = (
    b"A card pinned inside the ferry hut read: \x93Caf\xe9 de la Gare, Saint-Ma\xebl \x96 soup, bread and "
    b"hot cider, open daily except Mondays.\x94 Under it someone had added, in another hand, a line that my "
    b"notebook only records as \x81\x8d\xc3\x28\xa0\xff\xfe\x90, which is how the ink had run in the rain."
)

LICENCE = """\
LICENCE AND TERMS OF USE FOR THIS ELECTRONIC TEXT

This file is sample data written for the corpus project. It imitates the
layout of a public-domain ebook, with a header, a start marker, the text,
an end marker and a licence, so that software can practise removing the
front and back matter. The book, its author and this licence are invented.

Section 1. What you may do with this file

1.A. You may copy this file, give it away, print it, quote from it and
change it for any purpose, without asking anyone and without paying
anything.

1.B. If you share a changed copy, please remove the name of the archive
from the header, so that nobody mistakes your version for ours.

1.C. The text is offered as it is. The archive makes no promise that it is
free of errors and accepts no responsibility for what you do with it.

Section 2. About the archive

2.A. The archive is maintained by volunteers who transcribe, proofread and
format texts in their spare time. Corrections are always welcome and are
credited in the next release of the file.

2.B. Each text is released in plain text and in a few other formats. The
plain text version is the reference: where the formats disagree, it wins.

2.C. Release numbers are assigned in order and are never reused. A revised
edition of a work receives a new number and keeps a note of the old one.

Section 3. Contact

Questions about this file can be sent to the archive's volunteers through
the contact form of the archive. Please mention the release number in the
first line of your message.
"""


def gutenberg(title: str, author: str, release: str, ebook: int, credits: str, body: str) -> str:
    marker = title.upper()
    return (
        f"The Project Gutenberg eBook of {title}\n\n"
        "This ebook is sample data for the corpus project and is not part of any real\n"
        "collection. Anyone may use it for anything; the licence at the end says so at\n"
        "greater length.\n\n"
        f"Title: {title}\n\n"
        f"Author: {author}\n\n"
        f"Release date: {release} [eBook #{ebook}]\n\n"
        "Language: English\n\n"
        f"Credits: {credits}\n\n\n"
        f"*** START OF THE PROJECT GUTENBERG EBOOK {marker} ***\n\n\n\n\n"
        f"{body}\n\n\n\n\n"
        f"*** END OF THE PROJECT GUTENBERG EBOOK {marker} ***\n\n\n\n"
        f"{LICENCE}"
    )


def compose(
    rng: random.Random,
    module,
    chapters: list[tuple[str, list[str]]],
    target_chars: int,
    heading,
) -> str:
    """Chapters of generated paragraphs with the hand-written sentences spread over the first paragraphs."""
    prose = Prose(rng, module.LEX, module.TEMPLATES, module.ADJECTIVES, module.NOUNS)
    per_chapter = target_chars // len(chapters)
    parts = []
    for number, (name, anchors, *theme) in enumerate(chapters, start=1):
        # a chapter may narrow some slots to its subject (the chapter on candles talks about candles)
        prose.lex = {**module.LEX, **(theme[0] if theme else {})}
        paragraphs, size = [], 0
        pending = list(anchors)
        while size < per_chapter or pending:
            anchor = [pending.pop(0)] if pending else []
            text = prose.paragraph(rng.randint(3, 7), anchor)
            paragraphs.append(wrap(text))
            size += len(text)
        parts.append(heading(number, name) + "\n\n\n" + "\n\n".join(paragraphs))
    return "\n\n\n\n".join(parts)


def chapter_heading(number: int, name: str) -> str:
    return f"CHAPTER {roman(number)}.\n\n{name.upper()}"


def month_heading(number: int, name: str) -> str:
    return f"{roman(number)}. {name.upper()}"


def essay_heading(number: int, name: str) -> str:
    return f"{number}. {name}"


def letter_heading(number: int, name: str) -> str:
    return f"{name.upper()}\n\nCarrow Point, the {number + 2}th of the month\n\nDear Margaret,"


# ------------------------------------------------------------------------------------ revised edition

_SYNONYMS = {
    "walked": "stepped",
    "hurried": "rushed",
    "quietly": "silently",
    "cold": "chill",
    "harbour": "haven",
    "steady": "constant",
    "long": "lengthy",
    "old": "aged",
    "small": "little",
    "said": "replied",
    "watched": "observed",
    "town": "village",
    "clean": "spotless",
    "bright": "brilliant",
    "tired": "weary",
    "began": "started",
}
_ADDITIONS = [
    ", or so it seemed",
    ", as usual",
    ", for what it was worth",
    ", as everyone agreed",
    ", once again",
]
_SENTENCE = re.compile(r"(?<=[.?!])\s+(?=[A-Z\"])")


def revise(body: str, rng: random.Random, share: float = 0.04) -> tuple[str, int, int]:
    """Edit about `share` of the sentences (a synonym, an added or a dropped clause). Returns the new body, the
    number of sentences edited and the number of sentences in all."""
    edited = total = 0
    paragraphs = body.split("\n\n")
    for p, paragraph in enumerate(paragraphs):
        if paragraph.startswith("CHAPTER") or "\n" not in paragraph and paragraph.isupper():
            continue
        sentences = _SENTENCE.split(paragraph.replace("\n", " "))
        changed = False
        for s, sentence in enumerate(sentences):
            total += 1
            if rng.random() >= share:
                continue
            new = _edit(sentence, rng)
            if new != sentence:
                sentences[s], changed = new, True
                edited += 1
        if changed:
            paragraphs[p] = wrap(" ".join(sentences))
    return "\n\n".join(paragraphs), edited, total


def _edit(sentence: str, rng: random.Random) -> str:
    words = sentence.split(" ")
    swappable = [i for i, w in enumerate(words) if w.strip(",.;").lower() in _SYNONYMS]
    choice = rng.random()
    if swappable and choice < 0.5:
        i = rng.choice(swappable)
        bare = words[i].strip(",.;")
        repl = _SYNONYMS[bare.lower()]
        words[i] = words[i].replace(bare, repl.capitalize() if bare[0].isupper() else repl)
        return " ".join(words)
    if sentence.endswith(".") and not sentence.endswith('."') and choice < 0.8:
        return sentence[:-1] + rng.choice(_ADDITIONS) + "."
    if ", " in sentence and sentence.endswith("."):
        return sentence[: sentence.rindex(", ")] + "."
    return sentence


# -------------------------------------------------------------------------------------------- writer


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def write_books(out: Path, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    files: dict[str, bytes] = {}

    story = compose(rng, book_lamplighter, book_lamplighter.CHAPTERS, 52_000, chapter_heading)
    title = "The Lamplighter of Harrowgate"
    files[LAMPLIGHTER] = gutenberg(
        title, "Edith Marlowe Crane", "March 3, 2021", 70412, "The Harrowgate Reading Circle", story
    ).encode("utf-8")

    revised, edited, total = revise(story, random.Random(seed + 1))
    preface = wrap(
        "PREFACE TO THE REVISED EDITION. For this edition the author has corrected a number of small errors "
        "that readers of the first printing were kind enough to point out, and has changed a word here and "
        "there where the first version now seemed to her careless."
    )
    files[REVISED] = gutenberg(
        title,
        "Edith Marlowe Crane",
        "November 18, 2023",
        72105,
        "The Harrowgate Reading Circle; revisions proofread by T. Annesley",
        preface + "\n\n\n" + revised,
    ).encode("utf-8")
    print(f"revised edition: {edited} of {total} sentences edited ({edited / total:.1%})")

    notes = compose(rng, book_fieldnotes, book_fieldnotes.CHAPTERS, 46_000, essay_heading)
    files[FIELD_NOTES] = gz(
        (
            "FIELD NOTES ON LIGHT\n\nEssays on candles, lamps and filaments\n\nby Harriet Osei-Brandt\n\n\n\n"
            + notes
            + "\n"
        ).encode("utf-8")
    )

    almanac = compose(rng, book_almanac, book_almanac.MONTHS, 40_000, month_heading).encode("utf-8")
    middle = almanac.index(b"\n\n", len(almanac) // 2)
    almanac = almanac[:middle] + b"\n\n" + INVALID_UTF8 + almanac[middle:]
    files[ALMANAC] = (
        gutenberg(
            "A River Almanac",
            "Thomas Heald",
            "July 21, 2019",
            60077,
            "Wenn Valley Local History Society",
            "@@BODY@@",
        )
        .encode("utf-8")
        .replace(b"@@BODY@@", almanac)
    )

    letters = compose(rng, book_lamplighter, book_lamplighter.LETTER_CHAPTERS, 26_000, letter_heading)
    packed = gz(("LETTERS FROM CARROW POINT\n\nby Ada Wren\n\n\n\n" + letters + "\n").encode("utf-8"))
    files[LETTERS] = packed[: int(len(packed) * 0.55)]  # cut mid-stream: no gzip trailer, last block lost

    for rel, data in files.items():
        (out / Path(rel).name).write_bytes(data)
    return {rel: len(data) for rel, data in sorted(files.items())}
