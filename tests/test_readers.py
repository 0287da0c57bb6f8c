"""Readers on real dumps and on the bad inputs the issue lists: counted, never fatal, nothing valid lost."""

from __future__ import annotations

import codecs
import gzip
import io
import json

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
import zstandard
from datatrove.data import Document

from corpus.errors import InputError
from corpus.processors.html_extract import HtmlExtract
from corpus.readers import InputReader, detect_format, list_input_files
from corpus.readers.decode import decode_text, utf8_of
from corpus.readers.text import strip_gutenberg
from corpus.schema import SCHEMA


def read_all(root, files=None, **opts):
    root = str(root)
    if files is None:
        root, files = list_input_files(root)
    reader = InputReader(root, files, **opts)
    docs = list(reader.run(None, 0, 1))
    counters = {k: v.total for k, v in reader.stats.stats.items()}
    return docs, counters


def test_warc_from_postgres_dump(shared):
    docs, counters = read_all(shared / "postgres-docs.warc.gz")
    # README: 1,169 pages + the Latin-1 copy; warcinfo and request skipped; the empty body counted
    assert len(docs) == 1170
    assert counters["warc_warcinfo_record_skipped"] == 1
    assert counters["warc_request_record_skipped"] == 1
    assert counters["empty_document"] == 1
    by_url = {d.metadata["url"]: d for d in docs}
    latin = by_url["https://www.postgresql.org/docs/15/unaccent.html?encoding=latin-1"]
    utf8 = by_url["https://www.postgresql.org/docs/15/unaccent.html"]
    assert "À" in latin.text and "ô" in latin.text and "\ufffd" not in latin.text
    assert all(d.metadata["content_type"] == "html" for d in docs)
    assert len({d.id for d in docs}) == len(docs)
    assert latin.text.count("À") == utf8.text.count("À")


def test_truncated_warc_keeps_records_before_the_cut(shared, tmp_path):
    data = (shared / "postgres-docs.warc.gz").read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) // 2])
    docs, counters = read_all(cut)
    assert 400 < len(docs) < 1170
    assert counters["truncated_or_corrupt_compressed_file"] == 1


def test_jsonl_bad_lines_are_counted(tmp_path):
    lines = [
        json.dumps({"id": "a", "text": "A valid line about lamps."}).encode(),
        b'{"text": "broken',
        b"[1, 2, 3]",
        json.dumps({"title": "no text"}).encode(),
        json.dumps({"text": "   "}).encode(),
        '{"text": "caf\u00e9 ok"}'.encode(),
        b'{"text": "bad \xff\xfe bytes"}',
        json.dumps(
            {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}
        ).encode(),
        json.dumps(
            {"conversations": [{"from": "human", "value": "Q?"}, {"from": "gpt", "value": "A."}]}
        ).encode(),
        json.dumps({"messages": []}).encode(),
    ]
    (tmp_path / "d.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    docs, counters = read_all(tmp_path)
    assert [d.id for d in docs][:2] == ["a", "d.jsonl#5"]
    assert counters["bad_json_line"] == 1
    assert counters["json_not_an_object"] == 1
    assert counters["record_without_text"] == 2  # no text field; empty messages list
    assert counters["empty_document"] == 1
    assert counters["invalid_encoding"] == 1
    chats = [d for d in docs if d.metadata["content_type"] == "chat"]
    assert [t["role"] for t in chats[1].metadata["turns"]] == ["user", "assistant"]
    assert chats[0].text == "user: Hi\n\nassistant: Hello!"
    assert len(docs) == 5


def test_compressed_jsonl_and_truncated_gzip(tmp_path):
    records = b"".join(
        json.dumps({"text": f"document number {i} " * 20}).encode() + b"\n" for i in range(2000)
    )
    (tmp_path / "a.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(records))
    full = gzip.compress(records)
    (tmp_path / "b.jsonl.gz").write_bytes(full[: len(full) // 2])
    docs, counters = read_all(tmp_path)
    from_zst = [d for d in docs if d.metadata["source"] == "a.jsonl.zst"]
    from_gz = [d for d in docs if d.metadata["source"] == "b.jsonl.gz"]
    assert len(from_zst) == 2000
    assert 100 < len(from_gz) < 2000  # everything before the cut survives
    assert counters["truncated_or_corrupt_compressed_file"] == 1


def test_parquet_and_arrow_round_trip_and_foreign_tables(tmp_path):
    rows = [
        {
            "id": f"x{i}",
            "text": f"text {i}",
            "source": "s",
            "url": None,
            "metadata": '{"k": 1}',
            "turns": None,
        }
        for i in range(5)
    ]
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    pq.write_table(table, tmp_path / "native.parquet")
    with ipc.new_file(str(tmp_path / "native.arrow"), SCHEMA) as w:
        w.write_table(table)
    pq.write_table(
        pa.table({"content": ["foreign one", "", "foreign two"], "lang": ["en", "en", "fr"]}),
        tmp_path / "foreign.parquet",
    )
    docs, counters = read_all(tmp_path)
    native = [d for d in docs if d.id.startswith("x")]
    assert len(native) == 10 and native[0].metadata["k"] == 1
    foreign = [d for d in docs if d.metadata.get("lang")]
    assert [d.text for d in foreign] == ["foreign one", "foreign two"]
    assert counters["empty_document"] == 1


def test_books_gutenberg_binary_and_invalid_utf8(tmp_path):
    book = (
        "The Project Gutenberg eBook of Lanterns\n\nTitle: Lanterns of the North\nAuthor: A. Writer\n\n"
        "*** START OF THE PROJECT GUTENBERG EBOOK LANTERNS ***\n\nChapter 1\n\nThe lamp was lit.\n\n"
        "*** END OF THE PROJECT GUTENBERG EBOOK LANTERNS ***\n\nSection 1. General Terms of Use ... licence text\n"
    )
    (tmp_path / "lanterns.txt").write_text(book)
    (tmp_path / "garbage.txt").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "latin.txt").write_bytes("Ein schöner Tag, señor.".encode("cp1252"))
    (tmp_path / "empty.txt").write_bytes(b"")
    docs, counters = read_all(tmp_path)
    by_id = {d.id: d for d in docs}
    assert by_id["lanterns.txt"].text == "Chapter 1\n\nThe lamp was lit."
    assert by_id["lanterns.txt"].metadata["title"] == "Lanterns of the North"
    assert by_id["latin.txt"].text == "Ein schöner Tag, señor."
    assert counters["binary_content"] == 1 and counters["empty_document"] == 1


def test_kjv_chunks_by_paragraph(shared):
    docs, _ = read_all(shared / "kjv.txt", chunk_chars=0)
    assert len(docs) == 1 and docs[0].text.startswith("Ge1:1 In the beginning")


def test_gutenberg_untouched_without_markers():
    assert strip_gutenberg("plain text") == ("plain text", {})


def test_decode_text_charset_order():
    raw = '<meta charset="iso-8859-1"><p>Café</p>'.encode("cp1252")
    text, clean = decode_text(raw, None, sniff_html=True)
    assert "Café" in text and clean
    text, clean = decode_text("naïve".encode(), "utf-8")
    assert text == "naïve"


def test_html_bytes_kept_only_while_they_encode_the_text(shared, tmp_path):
    """The reader keeps a UTF-8 page's bytes for html_extract; a page in another charset keeps none, a step
    that changes the text makes them stale, and extraction gives the same result with or without them."""
    docs, _ = read_all(shared / "postgres-docs.warc.gz")
    kept = [d for d in docs if utf8_of(d) is not None]
    assert len(kept) == len(docs) - 1 and all(utf8_of(d) == d.text.encode() for d in kept)
    latin = next(d for d in docs if utf8_of(d) is None)
    assert latin.metadata["url"].endswith("encoding=latin-1") and not latin.text.isascii()
    (tmp_path / "p.html").write_bytes("<main><h1>Café</h1><p>Crème brûlée</p></main>".encode("cp1252"))
    (tmp_path / "q.html").write_bytes("<main><h1>Café</h1><p>Crème brûlée</p></main>".encode())
    page, utf8_page = read_all(tmp_path)[0]
    assert utf8_of(page) is None and utf8_of(utf8_page) == utf8_page.text.encode()
    stale = kept[0]
    stale.text = stale.text.replace("PostgreSQL", "Postgres")
    assert utf8_of(stale) is None
    step = HtmlExtract()
    for doc in kept[1:40]:
        plain = Document(text=doc.text, id=doc.id, metadata=dict(doc.metadata))
        assert step.apply(doc) is None and step.apply(plain) is None
        assert doc.text == plain.text and doc.metadata == plain.metadata and not doc.media


def test_input_errors(tmp_path):
    with pytest.raises(InputError, match="input not found"):
        list_input_files(str(tmp_path / "missing"))
    (tmp_path / "notes.xyz").write_text("?")
    with pytest.raises(InputError, match="no readable input files"):
        list_input_files(str(tmp_path))
    assert detect_format("a/b/CC-MAIN.warc.gz") == "warc"
    assert detect_format("x.jsonl.zst") == "jsonl"


def test_huge_single_document_is_read(tmp_path):
    big = "<html><body>" + "<p>lamp light " * 4_000_000 + "</body></html>"  # about 56 MB
    (tmp_path / "big.html").write_text(big)
    docs, counters = read_all(tmp_path, max_document_bytes=64 * 2**20)
    assert len(docs) == 1 and len(docs[0].text) == len(big)
    docs, counters = read_all(tmp_path, max_document_bytes=2**20)
    assert docs == [] and counters["document_too_large"] == 1


def test_glob_input(tmp_path):
    for name in ("a.jsonl", "b.jsonl", "c.txt"):
        (tmp_path / name).write_text('{"text": "x"}\n' if name.endswith("jsonl") else "book")
    root, files = list_input_files(str(tmp_path / "*.jsonl"))
    assert files == ["a.jsonl", "b.jsonl"]
    buf = io.BytesIO()
    assert buf.tell() == 0


def test_caps_on_jsonl_lines_and_warc_bodies(tmp_path):
    """A line or a WARC body over max_document_bytes is skipped and counted; its neighbours are read."""
    big = "lamp " * 2000  # 10,000 bytes
    lines = [{"text": "first"}, {"text": big}, {"text": "third"}]
    (tmp_path / "a.jsonl").write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in lines))
    (tmp_path / "b.jsonl.gz").write_bytes(
        gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in lines))
    )
    docs, counters = read_all(tmp_path, max_document_bytes=5000)
    assert [d.text for d in docs] == ["first", "third", "first", "third"]
    assert [d.id for d in docs][:2] == ["a.jsonl#0", "a.jsonl#2"]  # line numbers stay those of the file
    assert counters["document_too_large"] == 2
    docs, counters = read_all(tmp_path, max_document_bytes=20_000)
    assert len(docs) == 6 and "document_too_large" not in counters


def test_warc_body_over_the_cap(shared):
    docs, counters = read_all(shared / "postgres-docs.warc.gz", max_document_bytes=20_000)
    full, _ = read_all(shared / "postgres-docs.warc.gz")
    small = [d for d in full if len(d.text.encode()) <= 20_000]
    assert 0 < counters["document_too_large"] < len(full)
    assert len(docs) + counters["document_too_large"] == len(full)
    assert {d.id for d in docs} == {d.id for d in small}


RECORDS = [
    {
        "id": f"r{i}",
        "text": f'record {i}: "quoted" \\ back\\slash, braces {{}} [ ] and é✓',
        "tags": [i, {"k": "]"}],
    }
    for i in range(40)
]


def test_json_exports(tmp_path, monkeypatch):
    """A .json file holding an array of records, or an object holding a list of records (compact or
    pretty-printed), gives the same documents as the same records in JSON Lines; .json JSON Lines stay
    JSON Lines. Each piece boundary the stream can have is tried."""
    import corpus.readers.json_records as json_records

    files = {
        "array.json": json.dumps(RECORDS),
        "array_pretty.json": json.dumps(RECORDS, indent=2),
        "export.json": json.dumps({"version": 2, "data": RECORDS, "info": {"rows": [1, 2]}}),
        "export_pretty.json": json.dumps({"version": 2, "data": RECORDS}, indent=1),
        "lines.json": "".join(json.dumps(r) + "\n" for r in RECORDS),
        "pretty_values.json": "\n".join(json.dumps(r, indent=1) for r in RECORDS),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "array.json.gz").write_bytes(gzip.compress(files["array.json"].encode()))
    (tmp_path / "export.json.zst").write_bytes(
        zstandard.ZstdCompressor().compress(files["export.json"].encode())
    )
    for chunk in (1, 3, 7, 64, 2**20):
        monkeypatch.setattr(json_records, "_CHUNK", chunk)
        docs, counters = read_all(tmp_path)
        by_source: dict[str, list] = {}
        for d in docs:
            by_source.setdefault(d.metadata["source"], []).append(d)
        assert len(by_source) == 8, chunk
        for source, got in by_source.items():
            assert [d.text for d in got] == [r["text"] for r in RECORDS], (chunk, source)
            assert [d.id for d in got] == [r["id"] for r in RECORDS]
            assert got[3].metadata["tags"] == [3, {"k": "]"}]
        assert set(counters) == {"documents", "files"}, counters


def test_json_export_bad_records_and_caps(tmp_path, monkeypatch):
    import corpus.readers.json_records as json_records

    monkeypatch.setattr(json_records, "_CHUNK", 5)  # records and strings cut across reads
    big = "x" * 3000
    (tmp_path / "mixed.json").write_text(
        '[{"text": "one"}, 7, {"text": "two", "n": 1 2}, "str", {"text": "' + big + '"}, {"text": "three"}]'
    )
    (tmp_path / "cut.json").write_text(json.dumps([{"text": f"kept {i}"} for i in range(5)])[:-30])
    # an export larger than the cap: read twice, its records one at a time
    (tmp_path / "large_export.json").write_text(
        json.dumps({"meta": {"a": big}, "items": [{"text": f"item {i} " * 20} for i in range(50)]})
    )
    (tmp_path / "large_record.json").write_text(json.dumps({"title": "t", "text": big * 2}, indent=1))
    (tmp_path / "empty_array.json").write_text("[]")
    docs, counters = read_all(tmp_path, max_document_bytes=2000)
    by_source: dict[str, list] = {}
    for d in docs:
        by_source.setdefault(d.metadata["source"], []).append(d.text)
    assert by_source["mixed.json"] == ["one", "three"]
    assert by_source["cut.json"] == ["kept 0", "kept 1", "kept 2"]  # the fourth is cut
    assert by_source["large_export.json"] == [f"item {i} " * 20 for i in range(50)]
    assert "large_record.json" not in by_source
    assert counters["json_not_an_object"] == 2
    assert counters["bad_json_record"] == 1
    assert counters["document_too_large"] == 2  # the big record in mixed.json, large_record.json
    assert counters["bad_json_file"] == 1  # the cut file: the records before the cut are kept
    assert counters["files"] == 5
    mixed = [d for d in docs if d.metadata["source"] == "mixed.json"]
    assert [d.id for d in mixed] == ["mixed.json#0", "mixed.json#5"]  # positions in the array


def test_unicode_with_a_bom_is_decoded(tmp_path):
    text = "Ünïcode lamps ✓ — 灯\nsecond line"
    boms = {
        "utf-16-le": codecs.BOM_UTF16_LE,
        "utf-16-be": codecs.BOM_UTF16_BE,
        "utf-32-le": codecs.BOM_UTF32_LE,
        "utf-32-be": codecs.BOM_UTF32_BE,
    }
    for codec, bom in boms.items():
        (tmp_path / f"{codec}.txt").write_bytes(bom + text.encode(codec))
        (tmp_path / f"{codec}.html").write_bytes(bom + f"<p>{text}</p>".encode(codec))
    (tmp_path / "nobom.txt").write_bytes(text.encode("utf-16-le"))  # NUL bytes and no mark: not text
    random_bytes = bytes((i * 7919 + i * i * 104729) % 256 for i in range(4096))
    (tmp_path / "fake.txt").write_bytes(codecs.BOM_UTF16_LE + random_bytes)  # a mark, then no text
    docs, counters = read_all(tmp_path)
    assert sorted(d.id for d in docs if d.text == text) == sorted(
        f"{c}.txt" for c in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
    )
    assert sum(d.text == f"<p>{text}</p>" for d in docs) == 4
    assert counters["binary_content"] == 2 and "invalid_encoding" not in counters


def test_windows_1252_guess_is_counted(tmp_path):
    (tmp_path / "stray.txt").write_bytes(b"Plain ASCII notes with a stray \x92quote\x92 and \x96 a dash.")
    (tmp_path / "utf8.txt").write_text("Crème brûlée, plain UTF-8.")
    docs, counters = read_all(tmp_path)
    by_id = {d.id: d.text for d in docs}
    assert by_id["stray.txt"] == "Plain ASCII notes with a stray \u2019quote\u2019 and \u2013 a dash."
    assert by_id["utf8.txt"] == "Crème brûlée, plain UTF-8."
    assert counters["decoded_as_cp1252"] == 1


def test_parquet_with_corpus_columns_and_bad_metadata(tmp_path):
    metadata = ['{"k": 1}', "not json {", "[1, 2]", None, '"a string"']
    rows = [
        {"id": f"x{i}", "text": f"text {i}", "source": "s", "url": None, "metadata": m, "turns": None}
        for i, m in enumerate(metadata)
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), tmp_path / "t.parquet")
    docs, counters = read_all(tmp_path)
    assert [d.text for d in docs] == [f"text {i}" for i in range(5)]
    assert counters["metadata_not_a_json_object"] == 3
    assert docs[0].metadata["k"] == 1 and docs[3].metadata["source"] == "s"
    assert docs[1].metadata["metadata"] == "not json {"  # kept, not lost


def test_input_options_are_checked():
    from corpus.errors import RecipeError

    for bad in (
        {"max_document_bytes": 0},
        {"max_document_bytes": -5},
        {"max_document_bytes": "1MB"},
        {"chunk_chars": -1},
        {"text_key": ""},
    ):
        with pytest.raises(RecipeError, match=next(iter(bad))):
            InputReader.validate_options(bad)
        with pytest.raises(RecipeError):
            InputReader(".", ["a.txt"], **bad)
    InputReader.validate_options({"max_document_bytes": 1, "chunk_chars": 0, "text_key": "body"})


def test_max_document_bytes_zero_is_refused_by_the_cli(tmp_path, capsys):
    from corpus.cli import main

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text('{"text": "hello there world"}\n')
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: t\ninput:\n  max_document_bytes: 0\nsteps:\n  - normalize: {}\n")
    code = main(["prepare", str(recipe), "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == [
        "corpus: error: input: max_document_bytes must be a positive number of bytes, got 0"
    ]


def test_table_cells_over_the_cap(tmp_path):
    pq.write_table(pa.table({"text": ["short", "y" * 5000, "also short"]}), tmp_path / "t.parquet")
    docs, counters = read_all(tmp_path, max_document_bytes=4000)
    assert [d.text for d in docs] == ["short", "also short"] and counters["document_too_large"] == 1


def test_utf8_bom_before_json(tmp_path):
    bom = codecs.BOM_UTF8
    (tmp_path / "a.jsonl").write_bytes(bom + b'{"text": "first line"}\n{"text": "second"}\n')
    (tmp_path / "b.json").write_bytes(bom + b'{"text": "first line"}\n{"text": "second"}\n')
    (tmp_path / "c.json").write_bytes(bom + b'[{"text": "first line"}, {"text": "second"}]')
    docs, counters = read_all(tmp_path)
    assert [d.text for d in docs] == ["first line", "second"] * 3
    assert set(counters) == {"documents", "files"}


def test_json_exports_over_the_cap_followed_by_more_values(tmp_path, monkeypatch):
    """Each export over the cap is read a second time from the file's start, on its own file handle: the
    first read then goes on where it was, to the values after it."""
    import corpus.readers.json_records as json_records

    monkeypatch.setattr(json_records, "_CHUNK", 64)
    first = {"part": 1, "items": [{"text": f"first {i} " * 10} for i in range(30)]}
    second = {"part": 2, "items": [{"text": f"second {i} " * 10} for i in range(30)]}
    text = json.dumps(first, indent=1) + "\n" + json.dumps({"text": "between"}) + "\n" + json.dumps(second)
    (tmp_path / "two.json").write_text(text)
    (tmp_path / "two.json.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "two.json.zst").write_bytes(zstandard.ZstdCompressor().compress(text.encode()))
    docs, counters = read_all(tmp_path, max_document_bytes=1000)
    expected = [r["text"] for r in first["items"]] + ["between"] + [r["text"] for r in second["items"]]
    for source in ("two.json", "two.json.gz", "two.json.zst"):
        got = [d for d in docs if d.metadata["source"] == source]
        assert [d.text for d in got] == expected, source
        assert len({d.id for d in got}) == len(got)
    assert set(counters) == {"documents", "files"}


def test_json_export_of_conversations(tmp_path):
    """`{"conversations": [...]}` is an export of chats, not one chat whose turns are malformed; whether or
    not it is over the cap."""
    chats = [
        {
            "messages": [
                {"role": "user", "content": f"Question {i}?"},
                {"role": "assistant", "content": f"Answer {i}."},
            ]
        }
        for i in range(20)
    ]
    (tmp_path / "chats.json").write_text(json.dumps({"conversations": chats}, indent=2))
    for cap in (64 * 2**20, 500):  # the second makes the export larger than the cap: read in two passes
        docs, counters = read_all(tmp_path, max_document_bytes=cap)
        assert [d.metadata["turns"][1]["content"] for d in docs] == [f"Answer {i}." for i in range(20)]
        assert all(d.metadata["content_type"] == "chat" for d in docs)
        assert set(counters) == {"documents", "files"}
    big_chat = {"messages": [{"role": "user", "content": "x" * 600}, {"role": "assistant", "content": "y"}]}
    (tmp_path / "chats.json").write_text(json.dumps(big_chat))
    docs, counters = read_all(tmp_path, max_document_bytes=500)
    assert docs == [] and counters["document_too_large"] == 1


def test_json_saved_as_utf16_or_utf32(tmp_path):
    """Windows PowerShell writes `ConvertTo-Json | Out-File` as UTF-16 with a byte order mark."""
    records = [{"id": f"u{i}", "text": f"Grüße {i} — 灯 ✓ " * 200} for i in range(30)]  # ~12 kB each
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    array = json.dumps(records, ensure_ascii=False, indent=2)
    files = {
        "lines16.jsonl": codecs.BOM_UTF16_LE + lines.encode("utf-16-le"),
        "array16.json": codecs.BOM_UTF16_BE + array.encode("utf-16-be"),
        "export32.json": codecs.BOM_UTF32_LE + json.dumps({"value": records}).encode("utf-32-le"),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "lines16.jsonl.gz").write_bytes(gzip.compress(files["lines16.jsonl"]))
    docs, counters = read_all(tmp_path)
    for source in ("lines16.jsonl", "lines16.jsonl.gz", "array16.json", "export32.json"):
        got = [d for d in docs if d.metadata["source"] == source]
        assert [(d.id, d.text) for d in got] == [(r["id"], r["text"]) for r in records], source
    assert set(counters) == {"documents", "files"}
