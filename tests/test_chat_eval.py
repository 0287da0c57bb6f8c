"""Chat evaluation (trainer/chat_eval.py) and its metrics (trainer/metrics.py): the metrics agree with sacrebleu,
rouge-score and the SQuAD script's definitions; held-out conversations come from the token shards' split;
bad conversations are counted under their reason; reference perplexity equals the model's own loss; --compare
scores two models on the same replies; the outputs (chat.json, chat.md, chat.html) hold what they say."""

from __future__ import annotations

import json
import math

import pyarrow.parquet as pq
import pytest
import torch

from corpus.cli import main as corpus_main
from corpus.errors import InputError
from corpus.schema import rows_to_table
from corpus.tokenization import tokenize_dataset
from corpus.tokenization.shards import is_validation
from trainer import metrics
from trainer.chat_eval import Item, evaluate_chat, extract_items, reference_ids
from trainer.generate import Generator
from trainer.model import IGNORE_INDEX

PREDICTIONS = [
    "The cat sat on the mat.",
    "You can return the lamp within 30 days for a full refund!",
    "",
    "Hello there, General Kenobi",
]
REFERENCES = [
    "A cat was sitting on the mat.",
    "Returns are accepted within 30 days; the refund is full.",
    "Sorry, I don't know.",
    "hello there general kenobi",
]


def test_metrics_agree_with_sacrebleu_and_rouge_score():
    import sacrebleu
    from rouge_score import rouge_scorer

    scores = metrics.corpus_scores(PREDICTIONS, REFERENCES)
    assert scores["bleu"] == pytest.approx(sacrebleu.corpus_bleu(PREDICTIONS, [REFERENCES]).score)
    assert scores["chrf"] == pytest.approx(sacrebleu.corpus_chrf(PREDICTIONS, [REFERENCES]).score)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    theirs = [scorer.score(r, p) for p, r in zip(PREDICTIONS, REFERENCES, strict=True)]
    for name in ("rouge1", "rouge2", "rougeL"):
        assert scores[name] == pytest.approx(100 * sum(t[name].fmeasure for t in theirs) / len(theirs))
    one = metrics.sentence_scores(PREDICTIONS[1], REFERENCES[1])
    assert one["bleu"] == pytest.approx(sacrebleu.sentence_bleu(PREDICTIONS[1], [REFERENCES[1]]).score)
    assert one["chrf"] == pytest.approx(sacrebleu.sentence_chrf(PREDICTIONS[1], [REFERENCES[1]]).score)
    assert 0 < scores["bleu"] < 100 and 0 < scores["rouge2"] < 100


def test_squad_f1_and_exact_match():
    # SQuAD normalization: case, punctuation and articles do not count
    assert metrics.normalize_answer("The  Cat, sat!") == "cat sat"
    assert metrics.exact_match(PREDICTIONS[3], REFERENCES[3]) == 1.0
    assert metrics.exact_match(PREDICTIONS[0], REFERENCES[0]) == 0.0
    # "cat sat on mat" vs "cat was sitting on mat": 3 common of 4 and 5 tokens
    assert metrics.token_f1(PREDICTIONS[0], REFERENCES[0]) == pytest.approx(
        2 * (3 / 4) * (3 / 5) / (3 / 4 + 3 / 5)
    )
    assert metrics.token_f1("", "") == 1.0 and metrics.token_f1("", "x") == 0.0
    assert metrics.token_f1("x b b", "b b b c") == pytest.approx(2 * (2 / 3) * (2 / 4) / (2 / 3 + 2 / 4))
    scores = metrics.corpus_scores(PREDICTIONS, REFERENCES)
    assert scores["exact_match"] == pytest.approx(25.0)


GOOD = [
    [
        {"role": "user", "content": "How do I reset my password?"},
        {"role": "assistant", "content": "Open Settings, then Security, and choose Reset password."},
        {"role": "user", "content": "Thanks! And my username?"},
        {"role": "assistant", "content": "Your username is on the welcome email."},
    ],
    [
        {"role": "system", "content": "You are a support agent."},
        {"role": "user", "content": "My lamp flickers."},
        {"role": "assistant", "content": "Try another bulb first, then check the dimmer."},
    ],
]
BAD = {
    "no_assistant_turn": [{"role": "user", "content": "Anyone there?"}],
    "empty_reply": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "  "}],
    "no_user_turn_before_reply": [{"role": "assistant", "content": "Welcome!"}],
    "roles_out_of_order": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "assistant", "content": "How can I help?"},
    ],
    "empty_turn_in_context": [{"role": "user", "content": ""}, {"role": "assistant", "content": "Yes?"}],
    "unknown_role": [{"role": "narrator", "content": "Once"}, {"role": "assistant", "content": "upon"}],
    "context_longer_than_model": [
        {"role": "user", "content": "please help me " * 200},
        {"role": "assistant", "content": "Sure."},
    ],
}


def write_chats(folder, chats: dict[str, list[dict]]) -> None:
    rows = [
        {"id": cid, "text": "", "source": "test", "url": None, "metadata": "{}", "turns": turns}
        for cid, turns in chats.items()
    ]
    (folder / "data").mkdir(parents=True)
    pq.write_table(rows_to_table(rows), folder / "data" / "part-00000-00000.parquet")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from tiny_models import make_run, make_tokenizer

    root = tmp_path_factory.mktemp("chat-eval")
    tok = make_tokenizer(root)
    first = make_run(root / "a", tok, seed=0)
    second = make_run(root / "b", tok, seed=1)
    return tok, first, second


def test_bad_conversations_are_counted_by_reason():
    from collections import Counter

    skipped = Counter()
    items = extract_items(
        [(f"good-{i}", c) for i, c in enumerate(GOOD)] + [(k, v) for k, v in BAD.items()], skipped
    )
    assert [(it.conversation, it.turn) for it in items] == [
        ("good-0", 1),
        ("good-0", 3),
        ("good-1", 2),
        ("roles_out_of_order", 1),
        ("context_longer_than_model", 1),
    ]  # fmt: skip (the first reply of roles_out_of_order is fine, its second follows a reply)
    assert items[1].context == GOOD[0][:3] and items[1].reference == GOOD[0][3]["content"]
    assert dict(skipped) == {k: 1 for k in BAD if k != "context_longer_than_model"}


def test_evaluate_chat_end_to_end(models, tmp_path):
    tok, first, second = models
    data = tmp_path / "chats"
    write_chats(data, {**{f"good-{i}": c for i, c in enumerate(GOOD)}, **BAD})
    result = evaluate_chat(str(first), str(data), max_new_tokens=6, compare=str(second))
    # a dataset the runs were not trained on: every conversation is scored
    assert result["split"] == "all" and result["conversations"] == len(GOOD) + len(BAD)
    assert result["replies"] == 4
    assert result["skipped"] == {k: 1 for k in BAD}
    saved = json.loads((first / "eval" / "chat.json").read_text())
    assert saved["predictions"] == result["predictions"]
    assert [len(p["predictions"]) for p in saved["predictions"]] == [2, 2, 2, 2]  # both models, same replies
    gen = Generator.load(str(first))
    for entry in saved["predictions"]:  # the replies are the model's greedy replies to those contexts
        alone = gen.chat(entry["context"], gen_cfg(6))
        assert entry["predictions"][0] == alone.text.strip()
    # corpus scores are the metrics of the saved predictions
    preds = [p["predictions"][0] for p in saved["predictions"]]
    refs = [p["reference"] for p in saved["predictions"]]
    expected = metrics.corpus_scores(preds, refs)
    for name, value in expected.items():
        assert saved["models"][0]["scores"][name] == pytest.approx(value)
    # reference perplexity: the model's own summed loss over the reply tokens
    total, count = 0.0, 0
    for entry in saved["predictions"]:
        item = Item(entry["conversation"], entry["turn"], entry["context"], entry["reference"])
        prompt, reply = reference_ids(gen, item)
        ids = torch.tensor([prompt + reply])
        targets = torch.full_like(ids, IGNORE_INDEX)
        targets[0, len(prompt) - 1 : -1] = torch.tensor(reply)
        with torch.no_grad():
            total += float(gen.model(ids, targets, reduction="sum"))
        count += len(reply)
    assert reply[-1] == gen.tokenizer.convert_tokens_to_ids("<|end|>")  # the reply's closing token counts
    assert saved["models"][0]["scores"]["reference_perplexity"] == pytest.approx(
        math.exp(total / count), rel=1e-4
    )
    md = (first / "eval" / "chat.md").read_text()
    assert "| BLEU |" in md and "| run - run |" in md
    html = (first / "eval" / "chat.html").read_text()
    assert html.startswith('<section id="chat-eval">') and "Best replies" in html and "Worst replies" in html
    assert "&lt;" not in refs[0] and "Settings" in html


def gen_cfg(n: int):
    from trainer.generate import GenerationConfig

    return GenerationConfig(max_new_tokens=n, temperature=0)


def test_token_shards_give_the_held_out_split(models, tmp_path, capsys):
    tok, first, _ = models
    data = tmp_path / "chats"
    chats = {f"conv-{i:03d}": GOOD[i % 2] for i in range(40)}
    write_chats(data, chats)
    shards = tmp_path / "tokens"
    tokenize_dataset(str(data), str(tok), str(shards), val_fraction=0.3, seed=5)
    assert corpus_main(["evaluate", str(first), "--task", "chat", "--data", str(shards), "--limit", "4",
                        "--max-new-tokens", "4", "--json"]) == 0  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    held_out = [c for c in chats if is_validation(c, 5, 0.3)]
    assert summary["split"] == "val" and summary["conversations"] == len(held_out)
    assert summary["replies"] == 4 and "predictions" not in summary
    saved = json.loads((first / "eval" / "chat.json").read_text())
    assert {p["conversation"] for p in saved["predictions"]} <= set(held_out)


def test_nothing_to_score_is_one_line(models, tmp_path, capsys):
    _, first, _ = models
    data = tmp_path / "chats"
    write_chats(data, {"x": BAD["no_assistant_turn"]})
    with pytest.raises(InputError, match="no_assistant_turn 1"):
        evaluate_chat(str(first), str(data), out=str(tmp_path / "eval"))
    assert not (tmp_path / "eval").exists()
    assert corpus_main(["evaluate", str(first), "--task", "chat", "--data", str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err


def test_a_run_fine_tuned_on_the_dataset_is_scored_on_its_held_out_split(models, tmp_path):
    """Fine-tuning tokenizes its own copy of the conversations; run.json names those shards, whose split rule
    (a function of the conversation id) picks the same held-out conversations in the original dataset."""
    import shutil

    tok, first, _ = models
    data, copy = tmp_path / "chats", tmp_path / "run-copy"
    chats = {f"conv-{i:03d}": GOOD[i % 2] for i in range(40)}
    write_chats(data, chats)
    shutil.copytree(data, copy)
    tokenize_dataset(str(copy), str(tok), str(tmp_path / "tokens"), val_fraction=0.25, seed=3)
    (first / "run.json").write_text(json.dumps({"tokens": str(tmp_path / "tokens")}))
    try:
        result = evaluate_chat(str(first), str(data), max_new_tokens=2, out=str(tmp_path / "eval"))
    finally:
        (first / "run.json").unlink()
    held_out = {c for c in chats if is_validation(c, 3, 0.25)}
    assert result["split"] == "val" and result["conversations"] == len(held_out)
    assert {p["conversation"] for p in result["predictions"]} == held_out
