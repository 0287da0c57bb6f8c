"""`corpus serve MODEL`: an OpenAI-compatible HTTP API over a run or a Hugging Face model."""

from __future__ import annotations

import argparse

from corpus.commands.generate import add_model_options


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve a model behind an OpenAI-compatible HTTP API (chat and text completions)",
        description="POST /v1/chat/completions and /v1/completions (streaming by server-sent events or not), "
        "GET /v1/models and /health, on FastAPI and uvicorn. Concurrent requests are decoded together "
        "(dynamic batching: requests join the running batch at the next step). Binds 127.0.0.1 unless "
        "--host says otherwise; set --api-key before listening on other interfaces.",
    )
    add_model_options(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (8000; 0 picks a free one)")
    p.add_argument("--api-key", help="clients must send 'Authorization: Bearer KEY'")
    p.add_argument("--model-name", help="the model id clients use (default: the model folder's name)")
    p.add_argument(
        "--max-batch", type=int, default=16, help="rows decoded together; 1 turns batching off (16)"
    )
    p.add_argument("--max-queue", type=int, default=64, help="requests that may wait; more get 429 (64)")
    p.add_argument("--max-body-bytes", type=int, default=1_000_000, help="largest request body (1 MB)")
    p.add_argument(
        "--max-prompt-tokens", type=int, help="longest prompt (default: the model's positions - 1)"
    )
    p.add_argument("--max-tokens-limit", type=int, help="largest max_tokens (default: the model's positions)")
    p.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds a request may take, queueing included; longer ones get 504 (300)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from corpus.commands.generate import load_generator
    from corpus.errors import InputError
    from trainer.serve import ServeConfig, bind, serve

    for name in ("max_batch", "max_queue", "max_body_bytes"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1")
    if not args.timeout > 0:
        raise InputError(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
    if not 0 <= args.port < 65536:
        raise InputError(f"--port {args.port} is not a port number")
    bind(args.host, args.port).close()  # a taken port is one line before the model loads
    gen = load_generator(args)
    cfg = ServeConfig(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        model_name=args.model_name,
        max_batch=args.max_batch,
        max_queue=args.max_queue,
        max_body_bytes=args.max_body_bytes,
        max_prompt_tokens=args.max_prompt_tokens,
        max_tokens_limit=args.max_tokens_limit,
        request_timeout_s=args.timeout,
    )
    serve(gen, cfg)
    return 0
