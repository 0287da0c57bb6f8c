"""`corpus serve` as a real uvicorn process on a free port, driven by the official `openai` client: chat and
text completions, streamed and not, 8 concurrent clients batched together (each reply the same as generated
alone), a client leaving mid-stream, and the guards (body size, prompt length, bad JSON, bad parameters,
unknown model, wrong key, a port in use). Also `corpus chat` with a piped script."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from trainer.generate import GenerationConfig, Generator

KEY = "test-key-123"


def http(url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, dict]:
    """(status, JSON body) of a plain request (the standard library: no client-side checks in the way)."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


CORPUS = [sys.executable, "-m", "corpus.cli"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from tiny_models import make_run, make_tokenizer

    root = tmp_path_factory.mktemp("serve")
    return make_run(root, make_tokenizer(root), max_seq_len=1024)


@pytest.fixture(scope="module")
def gen(run):
    return Generator.load(str(run))


@contextlib.contextmanager
def serving(args: list[str]):
    """`corpus serve ... --port 0` in its own process; yields its base URL once /health answers."""
    proc = subprocess.Popen(
        [*CORPUS, "serve", *args, "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = ""
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and "serving" not in line:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                pytest.fail(f"corpus serve exited with {proc.returncode}")
        port = int(re.search(r":(\d+)/v1", line).group(1))
        url = f"http://127.0.0.1:{port}"
        threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe drained
        for _ in range(300):
            try:
                if http(f"{url}/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server(run):
    args = [str(run), "--api-key", KEY, "--max-body-bytes", "20000", "--max-prompt-tokens", "300",
            "--max-batch", "8", "--threads", "1"]  # fmt: skip
    with serving(args) as url:
        yield url


@pytest.fixture(scope="module")
def client(server):
    from openai import OpenAI

    return OpenAI(base_url=f"{server}/v1", api_key=KEY, max_retries=0, timeout=120)


def greedy(n: int) -> GenerationConfig:
    return GenerationConfig(max_new_tokens=n, temperature=0)


def test_models_and_health(client, server):
    assert [m.id for m in client.models.list().data] == ["run"]
    health = http(f"{server}/health")[1]  # no key needed for the liveness check
    assert health["status"] == "ok" and health["model"] == "run"


def test_chat_completion_streamed_and_not(client, gen):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "My lamp flickers."}]
    reply = client.chat.completions.create(model="run", messages=messages, max_tokens=24, temperature=0)
    expected = gen.chat(messages, greedy(24))
    assert reply.choices[0].message.content == expected.text
    assert reply.choices[0].finish_reason == expected.finish_reason
    assert reply.usage.prompt_tokens == expected.prompt_tokens
    assert reply.usage.completion_tokens == len(expected.token_ids)
    stream = client.chat.completions.create(
        model="run", messages=messages, max_tokens=24, temperature=0, stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == expected.text
    assert chunks[-1].choices[0].finish_reason == expected.finish_reason
    assert chunks[-1].usage.completion_tokens == len(expected.token_ids)


def test_text_completion_streamed_and_not(client, gen):
    prompt = "Thank you for contacting support. Your order"
    done = client.completions.create(model="run", prompt=prompt, max_tokens=20, temperature=0, stop=["\n\n"])
    expected = gen.generate([prompt], GenerationConfig(max_new_tokens=20, temperature=0, stop=["\n\n"]))[0]
    assert done.choices[0].text == expected.text and done.choices[0].finish_reason == expected.finish_reason
    pieces = [c.choices[0].text for c in client.completions.create(
        model="run", prompt=prompt, max_tokens=20, temperature=0, stop=["\n\n"], stream=True)]  # fmt: skip
    assert "".join(pieces) == expected.text
    sampled = dict(model="run", prompt=prompt, max_tokens=12, temperature=0.9, top_p=0.9, seed=11)
    assert (
        client.completions.create(**sampled).choices[0].text
        == client.completions.create(**sampled).choices[0].text
    )


def test_eight_concurrent_clients_are_batched(client, gen, server):
    prompts = [f"Question {i}: " + "how do I return a damaged lamp? " * (i % 3 + 1) for i in range(8)]
    lengths = [40 + 8 * i for i in range(8)]

    def ask(i: int) -> str:
        messages = [{"role": "user", "content": prompts[i]}]
        if i % 2:
            stream = client.chat.completions.create(
                model="run", messages=messages, max_tokens=lengths[i], temperature=0, stream=True
            )
            return "".join(c.choices[0].delta.content or "" for c in stream)
        reply = client.chat.completions.create(
            model="run", messages=messages, max_tokens=lengths[i], temperature=0
        )
        return reply.choices[0].message.content

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(ask, range(8)))
    for i, reply in enumerate(replies):  # each reply is what the model says to that prompt alone
        assert reply == gen.chat([{"role": "user", "content": prompts[i]}], greedy(lengths[i])).text
    assert http(f"{server}/health")[1]["peak_batch"] > 1  # requests were decoded together


def test_client_leaving_mid_stream_frees_its_row(client, server):
    # greedy, so that the reply is known to run to max_tokens (sampling can hit the end token early, and a
    # row that finishes before the client leaves is not cancelled)
    whole = client.completions.create(model="run", prompt="Once", max_tokens=1000, temperature=0)
    assert whole.choices[0].finish_reason == "length"
    before = http(f"{server}/health")[1]["cancelled"]
    stream = client.completions.create(
        model="run", prompt="Once", max_tokens=1000, temperature=0, stream=True
    )
    next(iter(stream))
    stream.close()
    for _ in range(200):
        health = http(f"{server}/health")[1]
        if health["cancelled"] > before:
            break
        time.sleep(0.05)
    assert health["cancelled"] == before + 1 and health["active"] == 0


def test_guards_answer_in_openai_shape(client, server):
    import openai

    with pytest.raises(openai.APIStatusError) as err:  # over --max-body-bytes
        client.completions.create(model="run", prompt="x" * 30000, max_tokens=5)
    assert err.value.status_code == 413
    with pytest.raises(openai.BadRequestError) as err:  # over --max-prompt-tokens
        client.completions.create(model="run", prompt="refund " * 400, max_tokens=5)
    assert err.value.code == "context_length_exceeded"
    with pytest.raises(openai.UnprocessableEntityError) as err:
        client.completions.create(model="run", prompt="Hi", temperature=5)
    assert err.value.body["param"] == "temperature"
    with pytest.raises(openai.UnprocessableEntityError):
        client.completions.create(model="run", prompt="Hi", max_tokens=5000)
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "Hi"}])
    assert err.value.code == "model_not_found"
    from openai import OpenAI

    wrong = OpenAI(base_url=f"{server}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        wrong.chat.completions.create(model="run", messages=[{"role": "user", "content": "Hi"}])
    assert err.value.code == "invalid_api_key"
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    status, body = http(f"{server}/v1/chat/completions", b"{not json", headers)
    assert status == 400 and body["error"]["code"] == "invalid_json"
    assert set(body["error"]) == {"message", "type", "param", "code"}
    status, body = http(f"{server}/v1/nothing-here")
    assert status == 404 and "error" in body
    assert client.completions.create(model="run", prompt="Hi", max_tokens=3).choices[0].text is not None


def test_port_in_use_is_one_line(run, server):
    port = server.rsplit(":", 1)[1]
    done = subprocess.run(
        [*CORPUS, "serve", str(run), "--port", port], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "cannot listen" in done.stderr


def test_terminal_chat_keeps_the_conversation(run, gen):
    script = "Hello there\nWhat about refunds?\n/reset\nHello there\n/system Answer briefly.\nHi\n/exit\nnot read\n"
    args = [*CORPUS, "chat", str(run), "--temperature", "0", "--max-new-tokens", "12", "--threads", "1"]
    done = subprocess.run(args, input=script, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    first = [{"role": "user", "content": "Hello there"}]
    a = gen.chat(first, greedy(12)).text
    second = [*first, {"role": "assistant", "content": a}, {"role": "user", "content": "What about refunds?"}]
    b = gen.chat(second, greedy(12)).text
    c = gen.chat(
        [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Hi"}], greedy(12)
    ).text
    # replies on stdout, one line each; after /reset the same question gets the first answer again
    assert done.stdout == f"{a}\n{b}\n{a}\n{c}\n"
    assert "new conversation" in done.stderr


def test_full_queue_is_429(gen):
    import asyncio

    from trainer.serve import APIError, Engine, Pending

    engine = Engine(gen, max_batch=1, max_queue=2)  # not started: nothing takes requests off the queue
    loop = asyncio.new_event_loop()
    try:
        for _ in range(2):
            engine.submit(Pending([1, 2, 3], greedy(4), loop, asyncio.Queue()))
        with pytest.raises(APIError) as err:
            engine.submit(Pending([1, 2, 3], greedy(4), loop, asyncio.Queue()))
    finally:
        loop.close()
    assert err.value.status == 429 and err.value.body()["error"]["code"] == "queue_full"


def test_engine_serves_a_transformers_model(tmp_path, shared):
    """A non-Llama model (generate() backend) is served one request at a time, streamed, and cancellable."""
    import asyncio
    import shutil

    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from trainer.serve import Engine, Pending

    torch.manual_seed(0)
    folder = tmp_path / "gpt2"
    GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=2, n_embd=32, n_positions=128)).save_pretrained(folder)
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(shared / "tokenizers" / "gpt2" / name, folder / name)
    hf = Generator.load(str(folder))
    cfg = GenerationConfig(max_new_tokens=10, temperature=0, ignore_eos=True)

    async def serve() -> tuple[list, list, int]:
        engine = Engine(hf, max_batch=8, max_queue=8)
        engine.start()
        loop = asyncio.get_running_loop()
        results = []
        for stream in (True, False):
            pending = Pending(hf.encode("Hello world"), cfg, loop, asyncio.Queue(), stream)
            engine.submit(pending)
            events = [await pending.events.get()]
            while events[-1][0] == "text":
                events.append(await pending.events.get())
            results.append(events)
        long = GenerationConfig(max_new_tokens=100, temperature=0, ignore_eos=True)
        pending = Pending(hf.encode("Hello"), long, loop, asyncio.Queue(), True)
        engine.submit(pending)
        await pending.events.get()
        pending.cancelled.set()
        for _ in range(100):
            if engine.cancelled:
                break
            await asyncio.sleep(0.05)
        engine.stop()
        return results[0], results[1], engine.cancelled

    streamed, whole, cancelled = asyncio.run(serve())
    expected = hf.generate(["Hello world"], cfg)[0]
    assert "".join(v for k, v in streamed if k == "text") == expected.text
    assert streamed[-1] == ("done", expected) and whole == [("done", expected)]
    assert cancelled == 1


def test_request_over_the_timeout_is_504_and_frees_its_row(run, tmp_path):
    """--timeout 0.5 on a model that needs seconds for a 1000-token reply (about 4 s here, 1 thread): the
    request gets a 504 in OpenAI's shape, streamed ones an error event, each row is freed at the next step,
    and a short request afterwards is answered."""
    import openai
    from openai import OpenAI
    from tiny_models import make_run

    slow = make_run(
        tmp_path, run / "tokenizer", d_model=384, n_layer=6, n_head=6, n_kv_head=2, max_seq_len=1024
    )
    args = [str(slow), "--timeout", "0.5", "--max-batch", "1", "--threads", "1"]
    with serving(args) as url:
        client = OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0, timeout=120)
        with pytest.raises(openai.InternalServerError) as err:
            client.completions.create(model="run", prompt="Once", max_tokens=1000, temperature=0)
        assert err.value.status_code == 504 and err.value.body["code"] == "timeout"
        assert "timed out after 0.5 s" in err.value.body["message"]
        with pytest.raises(openai.APIError) as err:  # the stream began (200): the error is its last event
            list(
                client.completions.create(
                    model="run", prompt="Once", max_tokens=1000, temperature=0, stream=True
                )
            )
        assert err.value.body["code"] == "timeout"
        for _ in range(200):
            health = http(f"{url}/health")[1]
            if health["cancelled"] == 2:
                break
            time.sleep(0.05)
        assert health["cancelled"] == 2 and health["active"] == 0 and health["waiting"] == 0
        reply = client.completions.create(model="run", prompt="Once", max_tokens=2, temperature=0)
        assert reply.choices[0].finish_reason == "length" and reply.usage.completion_tokens == 2
    done = subprocess.run([*CORPUS, "serve", str(slow), "--timeout", "0"], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--timeout" in done.stderr
