"""Scores of generated replies against references: BLEU and chrF (sacrebleu), ROUGE-1/2/L (rouge-score), and
the token-level F1 and exact match of the SQuAD evaluation script (answers normalized: lower case, punctuation
and the articles a/an/the removed, whitespace collapsed).

Corpus scores are what the papers report: BLEU and chrF over the whole corpus (sacrebleu's corpus_bleu and
corpus_chrf, default settings, so the numbers are comparable with sacrebleu's command line), ROUGE, F1 and exact
match averaged over the replies. All on a 0-100 scale.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from functools import lru_cache

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD v1.1's normalize_answer: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, reference: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(reference))


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD's F1 over normalized tokens (two empty answers agree: 1.0; one empty: 0.0)."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


@lru_cache(maxsize=1)
def _rouge_scorer():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)


def rouge(prediction: str, reference: str) -> dict[str, float]:
    """ROUGE-1, ROUGE-2 and ROUGE-L F-measures (Porter stemming, rouge-score's tokenizer), 0-1."""
    scores = _rouge_scorer().score(reference, prediction)
    return {name: scores[name].fmeasure for name in ROUGE_TYPES}


def sentence_scores(prediction: str, reference: str) -> dict[str, float]:
    """Every score of one reply, 0-100 (sentence BLEU with sacrebleu's default smoothing, for ranking)."""
    import sacrebleu

    r = rouge(prediction, reference)
    return {
        "bleu": sacrebleu.sentence_bleu(prediction, [reference]).score,
        "chrf": sacrebleu.sentence_chrf(prediction, [reference]).score,
        **{name: 100.0 * r[name] for name in ROUGE_TYPES},
        "f1": 100 * token_f1(prediction, reference),
        "exact_match": 100 * exact_match(prediction, reference),
    }


def corpus_scores(predictions: list[str], references: list[str]) -> dict[str, float]:
    """Corpus BLEU and chrF, mean ROUGE F-measures, mean F1 and exact match; 0-100."""
    import sacrebleu

    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    if not predictions:
        return {name: 0.0 for name in ("bleu", "chrf", *ROUGE_TYPES, "f1", "exact_match")}
    n = len(predictions)
    rouges = [rouge(p, r) for p, r in zip(predictions, references, strict=True)]
    return {
        "bleu": sacrebleu.corpus_bleu(predictions, [references]).score,
        "chrf": sacrebleu.corpus_chrf(predictions, [references]).score,
        **{name: 100 * sum(x[name] for x in rouges) / n for name in ROUGE_TYPES},
        "f1": 100 * sum(token_f1(p, r) for p, r in zip(predictions, references, strict=True)) / n,
        "exact_match": 100 * sum(exact_match(p, r) for p, r in zip(predictions, references, strict=True)) / n,
    }
