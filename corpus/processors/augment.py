"""The `augment` step: adds augmented copies of documents, each with its provenance."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from corpus.augment import TRANSFORMS, NlpaugTransform, parse_transforms
from corpus.augment.copies import MODES, CopyMaker
from corpus.augment.protect import compile_protect
from corpus.errors import RecipeError

_warned: set[str] = set()


class Augment(PipelineStep):
    """Add `copies` augmented copies of each document (or of a `fraction` of them), made by `transforms`
    (nlpaug and corpus's own; see `corpus augment --help`), keeping the originals unless `replace`.

    Every copy has id "<id>~aug<k>", metadata.augmented = true and metadata.augmentation = {source_id,
    transforms: [{name, params, position}], unchanged: [name], seed, copy}. `transforms` lists only the
    transforms that changed the copy, in the order they ran (position = index in this step's list);
    `unchanged` names those that ran but left the text as it was (a sentence transform on a one-sentence
    turn). Each transform's seed is derive_seed(seed, source_id, copy, name, position, part), so running
    `transforms` alone on the (protect-masked) original gives the copy back. mode: chain (every transform
    in order, each run with its apply_p) or one_of (one transform per copy, drawn by seed). On
    conversations only the turns of `roles` are changed ("*" = all), never the turn structure. `protect`
    keeps spans intact: url, email, number, code, special_token, or "re:<regex>". Documents whose
    metadata.split is not "train" are never augmented. Copies that come out empty, identical (to the
    original or another copy) or with a protected span lost are skipped and counted. Statistics per
    transform: copies_<name> = copies kept that the transform changed; unchanged_<name> = copies (kept or
    skipped) on which it ran and changed nothing. Transform parameters (p, min, max, apply_p, optional,
    and each transform's own) are listed in corpus/augment/."""

    name = "augment"
    type = "corpus"

    def __init__(
        self,
        transforms: list,
        copies: int = 1,
        fraction: float = 1.0,
        mode: str = "chain",
        roles: list[str] | None = None,
        protect: list[str] | None = None,
        replace: bool = False,
        max_chars: int = 100_000,
        seed: int = 0,
    ) -> None:
        super().__init__()
        specs = usable_transforms(self.validate_options(locals()))
        self.options = {
            "transforms": specs,
            "copies": copies,
            "fraction": float(fraction),
            "mode": mode,
            "roles": list(roles) if roles is not None else ["user"],
            "protect": list(protect or []),
            "replace": replace,
            "max_chars": max_chars,
            "seed": seed,
        }
        if any(issubclass(TRANSFORMS[name], NlpaugTransform) for name, _ in specs):
            import nlpaug.augmenter.char  # noqa: F401  (imports torch: once here, not in every worker)
        self._maker: CopyMaker | None = None

    def __repr__(self) -> str:
        return self.name

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_maker"] = None  # built again in each worker
        return state

    @classmethod
    def validate_options(cls, options: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """Semantic checks before the run starts; returns the parsed transforms."""
        specs = parse_transforms(options.get("transforms"))
        copies = options.get("copies", 1)
        if not isinstance(copies, int) or copies < 1:
            raise RecipeError(f"augment: copies must be a positive integer, got {copies!r}")
        fraction = options.get("fraction", 1.0)
        if not 0.0 < fraction <= 1.0:
            raise RecipeError(f"augment: fraction must be in (0, 1], got {fraction!r}")
        if options.get("mode", "chain") not in MODES:
            raise RecipeError(f"augment: mode must be one of {', '.join(MODES)}, got {options['mode']!r}")
        roles = options.get("roles")
        if roles is not None and (not roles or not all(isinstance(r, str) and r for r in roles)):
            raise RecipeError(
                f"augment: roles must be a non-empty list of role names (or ['*']), got {roles!r}"
            )
        compile_protect(options.get("protect") or [])
        if options.get("max_chars", 1) < 1:
            raise RecipeError("augment: max_chars must be positive")
        usable = usable_transforms(specs)
        if not usable:
            raise RecipeError("augment: none of the transforms can run here (all optional with data missing)")
        return specs

    def maker(self) -> CopyMaker:
        if self._maker is None:
            opts = self.options
            self._maker = CopyMaker(
                opts["transforms"],
                copies=opts["copies"],
                fraction=opts["fraction"],
                mode=opts["mode"],
                roles=opts["roles"],
                protect=compile_protect(opts["protect"]),
                replace=opts["replace"],
                max_chars=opts["max_chars"],
                seed=opts["seed"],
            )
        return self._maker

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        if data is None:
            return
        maker = self.maker()
        # counted locally and handed to datatrove's stats in bulk: six stat_update calls per document cost
        # about 7 us, a twentieth of an nlpaug call
        counts: Counter[str] = Counter()

        def count(name: str) -> None:
            counts[name] += 1

        try:
            for n, doc in enumerate(data, 1):
                with self.track_time():
                    out = maker.augment(doc, count)
                counts["total"] += 1  # reported as "seen"; "forwarded" (kept) counts originals + copies
                counts["forwarded"] += len(out)
                yield from out
                if n % 10_000 == 0:
                    self._flush(counts)
        finally:
            self._flush(counts)

    def _flush(self, counts: Counter[str]) -> None:
        for name, value in sorted(counts.items()):
            self.stat_update(name, value=value)
        counts.clear()


def usable_transforms(specs: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """The transforms that can run here. One whose data is missing refuses the recipe, unless marked
    optional: then it is left out with one warning per process."""
    usable = []
    for name, params in specs:
        reason = TRANSFORMS[name].missing_data(params)
        if reason is None:
            usable.append((name, params))
        elif not params["optional"]:
            raise RecipeError(
                f"augment: transform {name!r} cannot run: {reason}; or mark it optional: true to skip it"
            )
        elif name not in _warned:
            _warned.add(name)
            print(
                f"corpus: warning: augment: skipping optional transform {name!r}: {reason}", file=sys.stderr
            )
    return usable
