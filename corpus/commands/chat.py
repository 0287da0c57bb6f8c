"""`corpus chat MODEL`: talk to a model in the terminal (the conversation is kept, replies stream)."""

from __future__ import annotations

import argparse
import sys

from corpus.commands.generate import add_generation_options, add_model_options

HELP = "commands: /reset (new conversation), /system TEXT (set the system prompt and reset), /exit"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "chat",
        help="chat with a model in the terminal",
        description="A terminal chat: each line you type is a user turn; the model's reply streams back, "
        "rendered with the tokenizer's chat template over the whole conversation so far (the oldest turns "
        "are dropped when it no longer fits the model). " + HELP + ". Reads lines from stdin, so it also "
        "takes a piped script.",
    )
    add_model_options(p)
    p.add_argument("--system", help="system prompt")
    add_generation_options(p, temperature=0.7)
    p.set_defaults(func=run)


def fit(gen, messages: list[dict[str, str]], room: int) -> list[dict[str, str]] | None:
    """The conversation with its oldest exchanges dropped until the prompt leaves `room` tokens for the reply
    (the system prompt stays); None when even the last message alone does not fit."""
    system = [m for m in messages[:1] if m["role"] == "system"]
    rest = messages[len(system) :]
    while rest:
        if len(gen.encode_chat(system + rest)) + room <= gen.max_seq_len:
            return system + rest
        rest = rest[1:]
        while rest and rest[0]["role"] != "user":
            rest = rest[1:]
    return None


def run(args: argparse.Namespace) -> int:
    from corpus.commands.generate import generation_config, load_generator

    cfg = generation_config(args)
    gen = load_generator(args)
    interactive = sys.stdin.isatty()
    system = args.system
    messages: list[dict[str, str]] = []

    def reset() -> None:
        messages.clear()
        if system:
            messages.append({"role": "system", "content": system})

    reset()
    if interactive:
        print(f"chatting with {gen.name}; {HELP}", file=sys.stderr)
    room = min(cfg.max_new_tokens, max(1, gen.max_seq_len // 4))
    while True:
        if interactive:
            print("> ", end="", flush=True, file=sys.stderr)
        line = sys.stdin.readline()
        if not line:
            break
        text = line.rstrip("\n")
        command, _, rest = text.strip().partition(" ")
        if command == "/exit":
            break
        if command == "/reset":
            reset()
            print("(new conversation)", file=sys.stderr)
            continue
        if command == "/system":
            system = rest.strip() or None
            reset()
            print(f"(system prompt {'set' if system else 'cleared'}; new conversation)", file=sys.stderr)
            continue
        if command.startswith("/"):
            print(f"(unknown command {command}; {HELP})", file=sys.stderr)
            continue
        if not text.strip():
            continue
        kept = fit(gen, [*messages, {"role": "user", "content": text}], room)
        if kept is None:
            print(
                f"(message too long for the model's {gen.max_seq_len} positions; not sent)", file=sys.stderr
            )
            continue
        if len(kept) < len(messages) + 1:
            print("(oldest turns dropped to fit the model)", file=sys.stderr)
        messages[:] = kept
        reply = []
        for piece in gen.stream_chat(messages, cfg):
            reply.append(piece)
            print(piece, end="", flush=True)
        print(flush=True)
        messages.append({"role": "assistant", "content": "".join(reply)})
    return 0
