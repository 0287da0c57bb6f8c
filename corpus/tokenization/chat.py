"""Conversations as tokens: `<|bos|><|user|>question<|end|><|assistant|>answer<|end|>...`, with a loss mask
that is 1 exactly on the assistant content tokens and their closing `<|end|>`, so fine-tuning learns the
answers and never the prompts.

The Jinja template saved with a trained tokenizer renders the same string, so `apply_chat_template` in
transformers gives the same ids as these shards (each turn's content is encoded on its own in both, because
the special tokens around it split the text).
"""

from __future__ import annotations

from corpus.tokenization.load import END, LoadedTokenizer

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)
TRAINED_ROLE = "assistant"


def role_marker(role: str) -> str:
    return f"<|{role}|>"


def chat_text(tok: LoadedTokenizer, chat: list[dict[str, str]]) -> str:
    """The string a conversation's ids decode to (the chat template rendered, <|bos|> when the tokenizer has
    one), which is what its text_bytes count; tok.decode(encode_chats(tok, [chat])[0][0]) equals it."""
    bos = tok.bos_token if tok.bos_id is not None else ""
    turns = (role_marker(t.get("role") or "user") + (t.get("content") or "") + END for t in chat)
    return bos + "".join(turns)


def chat_bytes(tok: LoadedTokenizer, chat: list[dict[str, str]]) -> tuple[int, int]:
    """(UTF-8 bytes of chat_text, UTF-8 bytes of the part under the loss mask: assistant contents + <|end|>)."""
    trained = sum(
        len((t.get("content") or "").encode("utf-8")) + len(END)
        for t in chat
        if t.get("role") == TRAINED_ROLE
    )
    return len(chat_text(tok, chat).encode("utf-8")), trained


def encode_chats(
    tok: LoadedTokenizer, chats: list[list[dict[str, str]]]
) -> list[tuple[list[int], list[int]] | None]:
    """(ids, mask) per conversation, without the end-of-document token; None for a conversation with no
    content at all (counted by the caller). All turn contents of the batch are encoded in one call."""
    contents = [turn.get("content") or "" for chat in chats for turn in chat]
    encoded = iter(tok.encode_batch(contents)) if contents else iter(())
    bos = [tok.bos_id] if tok.bos_id is not None else []
    end = tok.marker(END)
    out: list[tuple[list[int], list[int]] | None] = []
    for chat in chats:
        ids, mask, content_tokens = list(bos), [0] * len(bos), 0
        for turn in chat:
            head, body = tok.marker(role_marker(turn.get("role") or "user")), next(encoded)
            trained = 1 if turn.get("role") == TRAINED_ROLE else 0
            ids += head + body + end
            mask += [0] * len(head) + [trained] * (len(body) + len(end))
            content_tokens += len(body)
        out.append((ids, mask) if content_tokens else None)
    return out
