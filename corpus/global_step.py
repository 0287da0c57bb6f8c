"""Steps that must see the whole run before deciding anything (global dedup).

A run is split at each global step into stages. The documents that reach a global step are written to a
stage dataset; `resolve` then reads that stage (every shard, from every worker) and stores its decisions in
`work_dir`; the next stage reads the stage dataset back in shard order and calls `apply` on each document,
which keeps it (True) or drops it with a reason, exactly like a DocumentStep. Shards and rows are visited in a
fixed order, so decisions never depend on the number of workers.
"""

from __future__ import annotations

import numpy as np
from datatrove.data import Document

from corpus.step import DocumentStep


class GlobalStep:
    """Base for global steps. Subclasses set `name` (= their module name in corpus/processors/)."""

    name = "global"

    def resolve(
        self,
        shards: list[str],
        work_dir: str,
        workers: int,
        output_dir: str,
        skip: dict[int, np.ndarray] | None = None,
    ) -> dict:
        """Read every stage shard (paths in their fixed order) and write decisions under work_dir.
        Audit data meant for users goes under output_dir (the run's output, e.g. output_dir/duplicates/).
        `skip` maps a shard index to the sorted rows an earlier global step on the same stage dataset drops:
        they do not exist for this step (and never reach its apply). Returns counters for the step
        statistics (for example clusters found)."""
        raise NotImplementedError

    def dropped_rows(self, work_dir: str) -> dict[int, np.ndarray]:
        """The rows (sorted, per shard index) that the decisions in work_dir drop."""
        raise NotImplementedError

    def load(self, work_dir: str) -> None:
        """Load the decisions written by resolve (called once per task, in the worker)."""
        raise NotImplementedError

    def apply(self, doc: Document) -> bool | str | None:
        """Decide one document. doc.metadata['_shard'] is its shard's index in the list given to resolve,
        doc.metadata['_row'] its row within that shard. May annotate the document (cluster ids)."""
        raise NotImplementedError


class ApplyGlobal(DocumentStep):
    """The stage-(k+1) side of a global step: loads its decisions lazily and applies them per document."""

    def __init__(self, step: GlobalStep, work_dir: str) -> None:
        self.name = step.name  # before super().__init__, which names the step's statistics
        super().__init__()
        self.step, self.work_dir = step, work_dir
        self._loaded = False

    def apply(self, doc: Document) -> bool | str | None:
        if not self._loaded:
            self.step.load(self.work_dir)
            self._loaded = True
        return self.step.apply(doc)
