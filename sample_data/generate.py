"""Regenerate everything under sample_data/ (web pages, WARC, books, chat logs). Deterministic: same output
bytes on every run (fixed seed, fixed dates and record ids, gzip mtime 0). Stdlib only, plus warcio for the WARC.

    .venv/bin/python sample_data/generate.py

All text is original, written for this project about a fictional company, Lumen Lamps. What is planted where
(near-duplicates, bad encodings, broken JSON, truncated gzip, ...) is listed in sample_data/README.md.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # keep __pycache__ out of sample_data/
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gen.books import write_books  # noqa: E402
from gen.chat import write_chat  # noqa: E402
from gen.web import write_web  # noqa: E402
from make_warc import write_warc  # noqa: E402

SEED = 20240312


def main() -> None:
    for folder in ("web", "books", "chat"):
        shutil.rmtree(HERE / folder, ignore_errors=True)
        (HERE / folder).mkdir()
    sizes = write_web(HERE / "web", SEED)
    sizes["crawl.warc.gz"] = write_warc(HERE / "web" / "crawl.warc.gz")
    sizes.update(write_books(HERE / "books", SEED))
    sizes.update(write_chat(HERE / "chat", SEED))
    total = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    print(f"wrote {len(sizes)} files; sample_data/ is {total / 1024:.0f} KiB in all")


if __name__ == "__main__":
    main()
