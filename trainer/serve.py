"""`corpus serve MODEL`: an OpenAI-compatible HTTP API (FastAPI on uvicorn) over one model.

    POST /v1/chat/completions   messages -> reply (the tokenizer's chat template), stream or not
    POST /v1/completions        prompt -> continuation, stream or not
    GET  /v1/models             the one model served
    GET  /health                liveness, and how many requests run and wait

Dynamic batching: one worker thread owns the model. Requests wait in a bounded queue; between two decoding
steps the worker takes the waiting ones (up to `max_batch` rows in all), prefills them, and merges them into the
running batch (trainer.generate.DecodeBatch), so a request that arrives while others are being generated joins
at the next step instead of waiting for the batch to finish. Finished rows leave at once and their reply is
sent. Each row keeps its own sampling settings and seed. Models that run on transformers' generate() (not
Llama-shaped) are served one request at a time.

Guards: the request body size (413), the prompt length and max_tokens (400 / 422), a bounded queue (429 when
full), a per-request timeout (504 with code "timeout", or that error as the last event of a stream; the row is
freed), the API key when one is set (401), the model name (404); every error in OpenAI's
shape {"error": {"message", "type", "param", "code"}}. The server binds loopback unless told otherwise. A client
that disconnects (mid-stream, or while waiting) frees its row at the next step.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import secrets
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from corpus.errors import InputError
from trainer.generate import Completion, DecodeBatch, GenerationConfig, Generator, Sequence


@dataclass
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    model_name: str | None = None  # the id clients name; default: the model folder's name
    max_batch: int = 16  # rows decoded together; 1 turns dynamic batching off
    max_queue: int = 64  # requests waiting for a row; more get 429
    max_body_bytes: int = 1_000_000
    max_prompt_tokens: int | None = None  # default: the model's positions - 1
    max_tokens_limit: int | None = None  # the largest max_tokens accepted; default: the model's positions
    default_max_tokens: int = 128
    request_timeout_s: float = 300.0


class APIError(Exception):
    """An error answered in OpenAI's shape."""

    def __init__(
        self, status: int, message: str, type_: str = "invalid_request_error", param=None, code=None
    ):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


# --------------------------------------------------------------------------------------------------------------
# the worker that owns the model


@dataclass
class Pending:
    """One request's work: prompts are token ids already checked against the limits."""

    prompt_ids: list[int]
    cfg: GenerationConfig
    loop: asyncio.AbstractEventLoop
    events: asyncio.Queue
    stream: bool = True  # False: only the final event is sent (no wake-up of the request for every token)
    cancelled: threading.Event = field(default_factory=threading.Event)
    seq: Sequence | None = None

    def send(self, kind: str, value: Any) -> None:
        """Hand an event to the request's coroutine (called from the worker thread)."""
        self.loop.call_soon_threadsafe(self.events.put_nowait, (kind, value))


def _dispatch(events: list[tuple[Pending, tuple[str, Any]]]) -> None:
    for pending, event in events:
        pending.events.put_nowait(event)


class Engine:
    """The worker thread: takes waiting requests into the running batch between decoding steps."""

    def __init__(self, gen: Generator, max_batch: int, max_queue: int) -> None:
        self.gen = gen
        self.max_batch = max(1, max_batch)
        self.waiting: queue.Queue[Pending] = queue.Queue(maxsize=max_queue)
        self.batch = DecodeBatch(gen.model, gen.pad_id, self.max_batch) if gen.backend == "gpt" else None
        self.owners: dict[int, Pending] = {}  # id(seq) -> request
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="corpus-serve-engine", daemon=True)
        self.steps = 0
        self.peak_batch = 0  # most rows decoded together so far
        self.cancelled = 0  # rows ended because their client left or timed out

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)

    def submit(self, pending: Pending) -> None:
        try:
            self.waiting.put_nowait(pending)
        except queue.Full:
            raise APIError(
                429, "the server is busy: too many requests waiting; retry later", "rate_limit_error",
                code="queue_full",
            ) from None  # fmt: skip

    @property
    def active(self) -> int:
        return len(self.batch.rows) if self.batch is not None else 0

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                if self.batch is None:
                    self._serve_one()
                else:
                    self._step()
            except Exception as err:  # a failed step fails its requests, never the server
                self._fail_all(f"generation failed: {type(err).__name__}: {err}")

    def _take(self, n: int, block: bool) -> list[Pending]:
        taken = []
        while len(taken) < n:
            try:
                p = self.waiting.get(timeout=0.1) if block and not taken else self.waiting.get_nowait()
            except queue.Empty:
                break
            if not p.cancelled.is_set():
                taken.append(p)
        return taken

    def _step(self) -> None:
        """Let waiting requests join (prefill), then one decoding step for every row."""
        batch = self.batch
        new = self._take(self.max_batch - len(batch.rows), block=not batch.rows)
        if new:
            seqs = []
            for p in new:
                p.seq = self.gen.new_sequence(p.prompt_ids, p.cfg, p.cfg.seed)
                self.owners[id(p.seq)] = p
                seqs.append(p.seq)
            batch.add(seqs)
            self.peak_batch = max(self.peak_batch, len(batch.rows))
            self._deliver(seqs)
        if batch.rows:
            rows = list(batch.rows)
            batch.step()
            self.steps += 1
            self._deliver(rows)
        for seq in batch.rows:
            if self.owners[id(seq)].cancelled.is_set():
                seq.finish_reason = "cancelled"
                del self.owners[id(seq)]
                self.cancelled += 1
        batch.drop_finished()

    def _deliver(self, seqs: list[Sequence]) -> None:
        """New text and finished replies to their requests: one hand-over to the event loop per step (a
        thread-safe call wakes the loop through a pipe; once per row and token, it costs more than the step)."""
        events: dict[asyncio.AbstractEventLoop, list] = {}
        for seq in seqs:
            p = self.owners.get(id(seq))
            if p is None:
                continue
            if p.stream:
                piece = seq.take()
                if piece:
                    events.setdefault(p.loop, []).append((p, ("text", piece)))
            if seq.finished:
                events.setdefault(p.loop, []).append((p, ("done", seq.completion())))
                del self.owners[id(seq)]
        for loop, batch in events.items():
            loop.call_soon_threadsafe(_dispatch, batch)

    def _serve_one(self) -> None:
        """transformers' generate() backend: one request at a time, streamed."""
        taken = self._take(1, block=True)
        if not taken:
            return
        p = taken[0]
        stream = self.gen.stream_ids(p.prompt_ids, p.cfg)
        try:
            while True:
                if p.cancelled.is_set():
                    self.cancelled += 1
                    return
                piece = next(stream)
                if p.stream:
                    p.send("text", piece)
        except StopIteration as done:
            p.send("done", done.value)
        except Exception as err:  # this request fails, the server goes on
            p.send("error", f"generation failed: {type(err).__name__}: {err}")
        finally:
            stream.close()

    def _fail_all(self, message: str) -> None:
        for p in list(self.owners.values()):
            p.send("error", message)
        self.owners.clear()
        if self.batch is not None:
            self.batch = DecodeBatch(self.gen.model, self.gen.pad_id, self.max_batch)


# --------------------------------------------------------------------------------------------------------------
# requests


def _number(body: dict, name: str, default, kind=float, low=None, high=None, low_open=False):
    value = body.get(name)
    if value is None:
        return default
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (kind is int and not isinstance(value, int))
    ):
        raise APIError(422, f"'{name}' must be {'an integer' if kind is int else 'a number'}", param=name)
    if (low is not None and (value <= low if low_open else value < low)) or (
        high is not None and value > high
    ):
        bound = f"{'>' if low_open else '>='} {low}" if low is not None else ""
        raise APIError(422, f"'{name}' must be {bound}{' and ' if bound and high is not None else ''}"
                       f"{f'<= {high}' if high is not None else ''}, not {value}", param=name)  # fmt: skip
    return kind(value)


def generation_settings(body: dict, cfg: ServeConfig, limit: int) -> tuple[GenerationConfig, bool]:
    """(GenerationConfig, stream) from an OpenAI request body; 422 naming the parameter that is wrong."""
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    name = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
    max_tokens = _number({name: max_tokens}, name, cfg.default_max_tokens, int, 1, limit)
    stop = body.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None and (
        not isinstance(stop, list) or len(stop) > 4 or not all(isinstance(s, str) and s for s in stop)
    ):
        raise APIError(422, "'stop' must be a non-empty string or a list of up to 4 of them", param="stop")
    n = _number(body, "n", 1, int, 1)
    if n != 1:
        raise APIError(422, "only n=1 is supported", param="n")
    for unsupported in ("frequency_penalty", "presence_penalty"):
        if _number(body, unsupported, 0.0, float, -2, 2) != 0:
            raise APIError(
                422, f"'{unsupported}' is not supported (use repetition_penalty)", param=unsupported
            )
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise APIError(422, "'stream' must be true or false", param="stream")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise APIError(422, "'seed' must be an integer", param="seed")
    gen_cfg = GenerationConfig(
        max_new_tokens=max_tokens,
        temperature=_number(body, "temperature", 1.0, float, 0, 2),
        top_p=_number(body, "top_p", 1.0, float, 0, 1, low_open=True),
        top_k=_number(body, "top_k", 0, int, 0),
        repetition_penalty=_number(body, "repetition_penalty", 1.0, float, 0, None, low_open=True),
        stop=stop or [],
        seed=seed,
    )
    return gen_cfg, stream


def chat_messages(body: dict) -> list[dict[str, str]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise APIError(422, "'messages' must be a non-empty list", param="messages")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("system", "developer", "user", "assistant"):
            raise APIError(422, f"messages[{i}] needs a role of system, user or assistant", param="messages")
        content = m.get("content")
        if isinstance(content, list):  # content parts: the text ones
            if not all(isinstance(part, dict) and part.get("type") == "text" for part in content):
                raise APIError(422, f"messages[{i}]: only text content is supported", param="messages")
            content = "".join(str(part.get("text", "")) for part in content)
        if not isinstance(content, str):
            raise APIError(422, f"messages[{i}].content must be a string", param="messages")
        out.append({"role": "system" if m["role"] == "developer" else m["role"], "content": content})
    return out


# --------------------------------------------------------------------------------------------------------------
# the app


def create_app(gen: Generator, cfg: ServeConfig):
    model_id = cfg.model_name or gen.name
    max_prompt = min(cfg.max_prompt_tokens or gen.max_seq_len - 1, gen.max_seq_len - 1)
    max_tokens_limit = cfg.max_tokens_limit or gen.max_seq_len
    engine = Engine(gen, cfg.max_batch, cfg.max_queue)
    created = int(time.time())

    @contextlib.asynccontextmanager
    async def lifespan(app):
        engine.start()
        yield
        engine.stop()

    app = FastAPI(title="corpus serve", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.engine = engine

    @app.exception_handler(APIError)
    async def _api_error(request: Request, err: APIError):  # noqa: RUF029
        return JSONResponse(err.body(), status_code=err.status)

    @app.exception_handler(Exception)
    async def _server_error(request: Request, err: Exception):  # noqa: RUF029
        body = APIError(500, f"{type(err).__name__}: {err}", "server_error").body()
        return JSONResponse(body, status_code=500)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, err: RequestValidationError):  # noqa: RUF029
        return JSONResponse(APIError(422, "invalid request").body(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, err: StarletteHTTPException):  # noqa: RUF029
        code = "not_found" if err.status_code == 404 else None
        return JSONResponse(
            APIError(err.status_code, str(err.detail), code=code).body(), status_code=err.status_code
        )

    def check_key(request: Request) -> None:
        if cfg.api_key is None:
            return
        given = request.headers.get("authorization", "")
        token = given[7:] if given.lower().startswith("bearer ") else ""
        if not secrets.compare_digest(token.encode(), cfg.api_key.encode()):
            raise APIError(401, "invalid API key", "invalid_request_error", code="invalid_api_key")

    async def read_body(request: Request) -> dict:
        check_key(request)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > cfg.max_body_bytes:
            raise APIError(413, f"request body over {cfg.max_body_bytes} bytes", code="request_too_large")
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > cfg.max_body_bytes:
                raise APIError(413, f"request body over {cfg.max_body_bytes} bytes", code="request_too_large")
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise APIError(400, f"the body is not valid JSON: {err}", code="invalid_json") from None
        if not isinstance(body, dict):
            raise APIError(400, "the body must be a JSON object", code="invalid_json")
        if body.get("model") not in (model_id, None):
            raise APIError(404, f"the model '{body.get('model')}' does not exist; this server has '{model_id}'",
                           param="model", code="model_not_found")  # fmt: skip
        return body

    def check_prompt(ids: list[int], param: str) -> None:
        if not ids:
            raise APIError(400, "the prompt is empty", param=param)
        if len(ids) > max_prompt:
            raise APIError(400, f"the prompt has {len(ids)} tokens; this model takes at most {max_prompt}",
                           param=param, code="context_length_exceeded")  # fmt: skip

    async def run(request: Request, ids: list[int], gen_cfg: GenerationConfig, stream: bool):
        """Events of one generation: ("text", piece)... (when streaming), then ("done", Completion) or
        ("error", message) or ("timeout", message). Leaving early (disconnect, timeout, a closed stream)
        cancels the request's row, which the worker frees at its next step."""
        pending = Pending(ids, gen_cfg, asyncio.get_running_loop(), asyncio.Queue(), stream)
        engine.submit(pending)
        deadline = time.monotonic() + cfg.request_timeout_s
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    yield "timeout", f"the request timed out after {cfg.request_timeout_s:g} s"
                    return
                try:
                    kind, value = await asyncio.wait_for(pending.events.get(), timeout=min(left, 1.0))
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    continue
                yield kind, value
                if kind != "text":
                    return
        finally:
            pending.cancelled.set()

    def usage(c: Completion) -> dict[str, int]:
        return {"prompt_tokens": c.prompt_tokens, "completion_tokens": len(c.token_ids),
                "total_tokens": c.prompt_tokens + len(c.token_ids)}  # fmt: skip

    async def collect(request: Request, ids, gen_cfg) -> Completion:
        async for kind, value in run(request, ids, gen_cfg, stream=False):
            if kind == "timeout":
                raise APIError(504, value, "server_error", code="timeout")
            if kind == "error":
                raise APIError(500, value, "server_error")
            if kind == "done":
                return value
        raise APIError(499, "client disconnected", "server_error")

    def sse(request: Request, ids, gen_cfg, chunk) -> StreamingResponse:
        """Server-sent events: chunk(delta_text, finish_reason) objects, then [DONE]."""

        async def events():
            first = chunk(None, None)
            if first is not None:
                yield f"data: {json.dumps(first)}\n\n"
            async for kind, value in run(request, ids, gen_cfg, stream=True):
                if kind == "text":
                    yield f"data: {json.dumps(chunk(value, None))}\n\n"
                elif kind == "done":
                    yield f"data: {json.dumps(chunk('', value.finish_reason, usage(value)))}\n\n"
                    yield "data: [DONE]\n\n"
                else:  # the status line is sent already: the error is the last event
                    code = "timeout" if kind == "timeout" else None
                    yield f"data: {json.dumps(APIError(500, value, 'server_error', code=code).body())}\n\n"

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    @app.get("/health")
    async def health():  # noqa: RUF029
        return {
            "status": "ok",
            "model": model_id,
            "active": engine.active,
            "waiting": engine.waiting.qsize(),
            "max_batch": engine.max_batch,
            "peak_batch": engine.peak_batch,
            "cancelled": engine.cancelled,
        }

    @app.get("/v1/models")
    async def models(request: Request):  # noqa: RUF029
        check_key(request)
        return {"object": "list", "data": [{"id": model_id, "object": "model", "created": created,
                                            "owned_by": "corpus"}]}  # fmt: skip

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        body = await read_body(request)
        gen_cfg, stream = generation_settings(body, cfg, max_tokens_limit)
        ids = gen.encode_chat(chat_messages(body))
        check_prompt(ids, "messages")
        rid, now = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        if stream:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

            def chunk(text, finish, use=None):
                delta = (
                    {"role": "assistant", "content": ""}
                    if text is None
                    else ({"content": text} if text else {})
                )
                out = {"id": rid, "object": "chat.completion.chunk", "created": now, "model": model_id,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}  # fmt: skip
                if include_usage and use is not None:
                    out["usage"] = use
                return out

            return sse(request, ids, gen_cfg, chunk)
        c = await collect(request, ids, gen_cfg)
        return {
            "id": rid, "object": "chat.completion", "created": now, "model": model_id,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": c.text},
                         "finish_reason": c.finish_reason, "logprobs": None}],
            "usage": usage(c),
        }  # fmt: skip

    @app.post("/v1/completions")
    async def completions(request: Request):
        body = await read_body(request)
        gen_cfg, stream = generation_settings(body, cfg, max_tokens_limit)
        prompt = body.get("prompt")
        if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
            prompt = prompt[0]
        if not isinstance(prompt, str):
            raise APIError(422, "'prompt' must be a string", param="prompt")
        ids = gen.encode(prompt)
        check_prompt(ids, "prompt")
        rid, now = f"cmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        if stream:

            def chunk(text, finish, use=None):
                if text is None:
                    return None
                return {"id": rid, "object": "text_completion", "created": now, "model": model_id,
                        "choices": [{"index": 0, "text": text, "finish_reason": finish, "logprobs": None}]}  # fmt: skip

            return sse(request, ids, gen_cfg, chunk)
        c = await collect(request, ids, gen_cfg)
        return {
            "id": rid, "object": "text_completion", "created": now, "model": model_id,
            "choices": [{"index": 0, "text": c.text, "finish_reason": c.finish_reason, "logprobs": None}],
            "usage": usage(c),
        }  # fmt: skip

    return app


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, or one line when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise InputError(
            f"cannot listen on {host}:{port}: {err.strerror or err} (choose another --port)"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(gen: Generator, cfg: ServeConfig) -> None:
    """Run the server until interrupted."""
    import uvicorn

    sock = bind(cfg.host, cfg.port)
    app = create_app(gen, cfg)
    if cfg.host not in ("127.0.0.1", "localhost", "::1") and cfg.api_key is None:
        print(f"corpus: warning: listening on {cfg.host} without --api-key", file=sys.stderr)
    port = sock.getsockname()[1]
    print(f"serving {cfg.model_name or gen.name} ({gen.backend}) on http://{cfg.host}:{port}/v1", file=sys.stderr,
          flush=True)  # fmt: skip
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=3)
    )
    server.run(sockets=[sock])
