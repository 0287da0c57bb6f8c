"""Recipe step `tokenize`: after the run has written its dataset, turn it into token shards for a trainer."""

from __future__ import annotations

import os
from typing import Any

from corpus.errors import CorpusError, RecipeError

DTYPES = ("auto", "uint16", "uint32")


class Tokenize:
    """Tokenize the finished dataset into train/val token shards (runs once, after OUT/data is written).

    `output` is relative to the run's output directory (default OUT/tokens); the shards are those of
    `corpus tokenize OUT --tokenizer T --output OUT/tokens`, with the recipe's seed driving the split.
    """

    name = "tokenize"
    after_run = True  # the run calls after_run_hook(output_dir, workers) once the dataset is complete

    def __init__(
        self,
        tokenizer: str,
        output: str = "tokens",
        val_fraction: float = 0.01,
        seed: int = 0,
        dtype: str = "auto",
    ) -> None:
        self.tokenizer, self.output = tokenizer, output
        self.val_fraction, self.seed, self.dtype = val_fraction, seed, dtype

    @classmethod
    def validate_options(cls, options: dict[str, Any]) -> None:
        from corpus.tokenization import load_tokenizer

        if not 0 <= options.get("val_fraction", 0.01) < 1:
            raise RecipeError(
                f"step 'tokenize': val_fraction must be in [0, 1), got {options['val_fraction']}"
            )
        if options.get("dtype", "auto") not in DTYPES:
            raise RecipeError(
                f"step 'tokenize': dtype must be one of {', '.join(DTYPES)}, got {options['dtype']!r}"
            )
        try:  # fail before the run, not after hours of cleaning
            load_tokenizer(options["tokenizer"])
        except CorpusError as err:
            raise RecipeError(f"step 'tokenize': {err}") from None

    def __repr__(self) -> str:
        return self.name

    def after_run_hook(self, dataset_dir: str, workers: int) -> dict[str, Any]:
        from corpus.tokenization import tokenize_dataset

        output = self.output if os.path.isabs(self.output) else os.path.join(dataset_dir, self.output)
        inside = os.path.realpath(output).startswith(os.path.realpath(dataset_dir) + os.sep)
        meta = tokenize_dataset(
            dataset_dir,
            self.tokenizer,
            output,
            workers=workers,
            val_fraction=self.val_fraction,
            seed=self.seed,
            dtype=self.dtype,
            # shards inside the run's own output belong to the run: a changed run replaces them
            overwrite=inside,
        )
        skipped = meta["skipped"]
        return {  # seen / kept / dropped in the shape of every step's statistics
            "seen": meta["documents"] + sum(skipped.values()),
            "kept": meta["documents"],
            "dropped": skipped,
            "output": output,
            "documents": meta["documents"],
            "tokens": meta["tokens"],
            "dtype": meta["dtype"],
            "splits": {
                s: {k: v[k] for k in ("tokens", "documents", "text_bytes", "mask_text_bytes")}
                for s, v in meta["splits"].items()
            },
            "counters": meta["counters"],
            "elapsed_s": meta["elapsed_s"],
        }
