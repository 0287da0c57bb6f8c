"""Write sample_data/chat/: support.jsonl (with planted bad lines and duplicates), support-extra.jsonl.gz and a
truncated gzip (see sample_data/README.md for the list of planted cases and the counts they produce)."""

from __future__ import annotations

import gzip
import json
import random
import re
import zlib
from pathlib import Path

from gen.chat_topics import DEV_SYSTEM_PROMPT, FOREIGN, SCENARIOS, SYSTEM_PROMPTS, TOPIC_WEIGHTS, Ctx

N_MAIN, N_EXTRA, N_TRUNCATED = 288, 36, 40
MAX_JACCARD = 0.45  # generated conversations are rejected if this similar to an earlier one


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / max(1, len(a | b))


def render(messages: list[dict]) -> str:
    return "\n\n".join(f"{m['role']}: {m['content']}" for m in messages)


class Generator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: list[set] = []
        self.topics = [t for t, w in TOPIC_WEIGHTS.items() for _ in range(w)]

    def conversation(self) -> tuple[str, list[dict]]:
        """A new conversation that is not a near-duplicate of any generated before (5-gram Jaccard)."""
        for _ in range(50):
            topic = self.rng.choice(self.topics)
            ctx = Ctx(self.rng)
            turns = self.rng.choice(SCENARIOS[topic])(ctx)
            if len(turns) <= 6 and self.rng.random() < 0.3:
                turns = turns + [("user", ctx.thanks()), ("assistant", ctx.bye())]
            messages = [{"role": r, "content": c} for r, c in turns]
            if topic == "developer" and self.rng.random() < 0.8:
                messages.insert(0, {"role": "system", "content": DEV_SYSTEM_PROMPT})
            elif self.rng.random() < 0.55:
                messages.insert(0, {"role": "system", "content": self.rng.choice(SYSTEM_PROMPTS)})
            grams = shingles(render(messages))
            if all(jaccard(grams, other) < MAX_JACCARD for other in self.seen):
                self.seen.append(grams)
                return topic, messages
        raise RuntimeError("could not generate a distinct conversation; widen the templates")


def near_duplicate(record: dict, rng: random.Random) -> dict:
    """The same conversation logged again with small edits: the customer's greeting changed and a short
    sentence added to their first message (what a ticket re-opened by the same customer looks like)."""
    messages = [dict(m) for m in record["messages"]]
    users = [m for m in messages if m["role"] == "user"]
    first = users[0]
    greetings = ("Hi,", "Hello,", "Hi there,", "Hey,", "Good morning,", "Hello!", "Hi team,", "Evening,")
    for g in greetings:
        if first["content"].startswith(g):
            first["content"] = rng.choice([x for x in greetings if x != g]) + first["content"][len(g) :]
            break
    else:
        first["content"] = "Hello, " + first["content"][0].lower() + first["content"][1:]
    first["content"] += rng.choice([" Thanks in advance!", " Many thanks.", " Cheers.", " Thank you!"])
    return {"id": None, "messages": messages, "topic": record["topic"]}


def dumps(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


def bad_lines(n: int) -> dict[str, bytes]:
    """The planted bad lines of support.jsonl, by kind (ids continue the numbering of the file)."""
    cid = lambda k: f"conv-{n + k:05d}"  # noqa: E731
    latin = (
        '{"id": "@ID@", "messages": [{"role": "user", "content": "Hello, this is Jos\xe9 M\xfcller from the '
        'caf\xe9 in Sevilla. The Beam spots in our sal\xf3n flicker since the update."}, {"role": "assistant", '
        '"content": "Thanks Jos\\u00e9! Please check that the spots are on firmware 3.4.2; it fixed flicker at '
        'low brightness."}], "topic": "troubleshooting"}'
    ).replace("@ID@", cid(3))
    return {
        "truncated_json": (
            b'{"id": "'
            + cid(1).encode()
            + b'", "messages": [{"role": "user", "content": "Hi, my Aurora bulb '
            b"keeps disconnecting from the hub every ev"
        ),
        "python_repr": (
            "{'id': '@ID@', 'messages': [{'role': 'user', 'content': 'Is the hub compatible with Zigbee lights from "
            "other brands?'}, {'role': 'assistant', 'content': 'Yes, most Zigbee 3.0 lights work.'}], "
            "'topic': 'product'}"
        )
        .replace("@ID@", cid(2))
        .encode(),
        "invalid_utf8": latin.encode("latin-1"),
        "two_objects_one_line": (
            dumps(
                {
                    "id": cid(4),
                    "messages": [
                        {"role": "user", "content": "Do you sell gift cards?"},
                        {"role": "assistant", "content": "Yes, from 10 to 200 euros."},
                    ],
                    "topic": "product",
                }
            )
            + dumps(
                {
                    "id": cid(5),
                    "messages": [
                        {"role": "user", "content": "Can I pay by invoice?"},
                        {"role": "assistant", "content": "In some countries, yes."},
                    ],
                    "topic": "billing",
                }
            )
        ),
        "json_array": dumps(
            [
                {"role": "user", "content": "Where can I download the Strip Flex manual?"},
                {
                    "role": "assistant",
                    "content": "It's at https://lumenlamps.example/support/strip-flex-manual.",
                },
            ]
        ),
        "empty_messages": dumps({"id": cid(6), "messages": [], "topic": "orders"}),
        "no_text": dumps({"id": cid(7), "topic": "billing", "rating": 2, "resolved": False}),
        "empty_contents": dumps(
            {
                "id": cid(8),
                "messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "   "}],
                "topic": "orders",
            }
        ),
        "blank": b"",
    }


def sharegpt(messages: list[dict], topic: str) -> dict:
    names = {"user": "human", "assistant": "gpt", "system": "system"}
    return {
        "conversations": [{"from": names[m["role"]], "value": m["content"]} for m in messages],
        "topic": topic,
    }


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def complete_lines_before_cut(data: bytes) -> int:
    """How many whole lines a streaming reader can recover from a cut gzip stream."""
    text = zlib.decompressobj(wbits=31).decompress(data)
    return text.count(b"\n")


def write_chat(out: Path, seed: int) -> dict[str, int]:
    rng = random.Random(seed + 7)
    gen = Generator(rng)

    # --- support.jsonl: generated conversations, the foreign-language ones, then planted cases in between
    records = []
    for _ in range(N_MAIN):
        topic, messages = gen.conversation()
        records.append({"id": None, "messages": messages, "topic": topic})
    for k, (topic, turns) in enumerate(FOREIGN):
        records.insert(
            20 + 45 * k,
            {"id": None, "messages": [{"role": r, "content": c} for r, c in turns], "topic": topic},
        )
    dup_sources = [records[i] for i in (11, 97, 180)]
    near_sources = [records[i] for i in (5, 42, 133, 201, 260)]
    copies = []
    for k, src in enumerate(dup_sources):
        copy = {"id": None, "messages": [dict(m) for m in src["messages"]], "topic": src["topic"]}
        records.insert(150 + 60 * k, copy)
        copies.append(("exact", src, copy))
    for k, src in enumerate(near_sources):
        copy = near_duplicate(src, rng)
        records.insert(60 + 50 * k, copy)
        copies.append(("near", src, copy))
    for i, record in enumerate(records, start=1):
        record["id"] = f"conv-{i:05d}"
    for kind, src, copy in copies:
        print(f"support.jsonl {kind} duplicate: {src['id']} -> {copy['id']}")
    lines = [dumps(r) for r in records]

    share_topic, share_messages = gen.conversation()
    planted = bad_lines(len(records))
    placements = [
        (37, planted["truncated_json"]),
        (88, planted["json_array"]),
        (123, dumps(sharegpt(share_messages, share_topic))),
        (141, planted["python_repr"]),
        (176, planted["empty_messages"]),
        (205, planted["invalid_utf8"]),
        (230, planted["blank"]),
        (244, planted["no_text"]),
        (268, planted["two_objects_one_line"]),
        (290, planted["empty_contents"]),
    ]
    for position, line in placements:
        lines.insert(position, line)
    for _, line in placements:
        print(f"support.jsonl line {lines.index(line) + 1}: {line[:70]!r}")
    support = b"\n".join(lines) + b"\n"

    # --- support-extra.jsonl.gz: more conversations, one of them an exact copy of a support.jsonl record
    extra = []
    for i in range(N_EXTRA):
        topic, messages = gen.conversation()
        extra.append({"id": f"extra-{i + 1:04d}", "messages": messages, "topic": topic})
    extra.insert(
        17,
        {
            "id": f"extra-{N_EXTRA + 1:04d}",
            "messages": records[64]["messages"],
            "topic": records[64]["topic"],
        },
    )
    print(f"support-extra.jsonl.gz exact duplicate: {records[64]['id']} -> extra-{N_EXTRA + 1:04d}")
    extra_bytes = gz(b"\n".join(dumps(r) for r in extra) + b"\n")

    # --- truncated.jsonl.gz: a valid gzip stream cut short; the records before the cut must survive
    trunc = []
    for i in range(N_TRUNCATED):
        topic, messages = gen.conversation()
        trunc.append({"id": f"trunc-{i + 1:04d}", "messages": messages, "topic": topic})
    whole = gz(b"\n".join(dumps(r) for r in trunc) + b"\n")
    cut = whole[: int(len(whole) * 0.6)]
    print(
        f"truncated.jsonl.gz: {complete_lines_before_cut(cut)} of {N_TRUNCATED} records recoverable before the cut"
    )

    files = {
        "chat/support.jsonl": support,
        "chat/support-extra.jsonl.gz": extra_bytes,
        "chat/truncated.jsonl.gz": cut,
    }
    for rel, data in files.items():
        (out / Path(rel).name).write_bytes(data)
    return {rel: len(data) for rel, data in files.items()}
