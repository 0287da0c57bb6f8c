"""What every transform shares: its rate controls, seeds derived per call, and the registry of names.

A transform is a callable `t(text, seed) -> str`. It never touches global state of its own: the seed given
for each call fully decides the output, so the same (recipe seed, document id, copy, transform) gives the
same text in any process, in any order.

Rate controls, the same words for every transform (nlpaug's aug_p / aug_min / aug_max):
  p        fraction of the transform's units (words, characters, sentences, gaps) that change
  min/max  bounds on the number of changes per call (max: null = no upper bound)
  apply_p  probability that the transform runs at all on a given copy (chain mode)
  optional when the transform's data is missing, skip it with one warning instead of refusing the recipe
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import xxhash

from corpus.errors import RecipeError

# placeholders that stand in for protected spans while transforms run (see protect.py); transforms leave any
# token containing this marker alone
PLACEHOLDER_MARK = "QXPROTECT"

COMMON_PARAMS: dict[str, Any] = {"p": 0.1, "min": 1, "max": 10, "apply_p": 1.0, "optional": False}


def derive_seed(*parts: object) -> int:
    """A 64-bit seed from any parts (recipe seed, doc id, copy, transform name, ...): stable across runs,
    processes and Python hash randomization."""
    return xxhash.xxh3_64_intdigest("\x1f".join(map(str, parts)).encode("utf-8", "surrogatepass"))


def unit_interval(*parts: object) -> float:
    """A number in [0, 1) fixed by the parts; used for selection decisions (fraction, split)."""
    return derive_seed(*parts) / 2**64


def n_changes(units: int, p: float, low: int, high: int | None) -> int:
    """How many units to change: ceil(p * units) clamped to [low, high] and to the units there are."""
    if units <= 0:
        return 0
    count = max(math.ceil(p * units), low)
    if high is not None:
        count = min(count, high)
    return min(count, units)


class Transform:
    """Base class. Subclasses set `name`, `extra` (their own parameters with defaults, which may also
    override the common ones) and implement `transform(text, seed)`."""

    name: ClassVar[str] = "transform"
    extra: ClassVar[dict[str, Any]] = {}
    # what the data requirement is, for messages; None when the transform needs nothing outside corpus
    requires: ClassVar[str | None] = None

    def __init__(self, **params: Any) -> None:
        self.params = self.resolve_params(params)
        self.p, self.min, self.max = self.params["p"], self.params["min"], self.params["max"]
        self.apply_p = self.params["apply_p"]

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {**COMMON_PARAMS, **cls.extra}  # a transform may override a common default (shuffle: p=1)

    @classmethod
    def resolve_params(cls, given: dict[str, Any]) -> dict[str, Any]:
        """Defaults filled in and every value checked; RecipeError names the bad key and the allowed ones."""
        allowed = cls.defaults()
        out = dict(allowed)
        for key, value in given.items():
            if key not in allowed:
                raise RecipeError(
                    f"augment: transform {cls.name!r}: unknown parameter {key!r}; allowed: {', '.join(allowed)}"
                )
            out[key] = _checked(cls.name, key, value, allowed[key])
        for key in ("p", "apply_p"):
            if not 0.0 <= out[key] <= 1.0:
                raise RecipeError(f"augment: transform {cls.name!r}: {key} must be in [0, 1], got {out[key]}")
        if out["min"] < 0 or (out["max"] is not None and out["max"] < out["min"]):
            raise RecipeError(
                f"augment: transform {cls.name!r}: need 0 <= min <= max, got min={out['min']} max={out['max']}"
            )
        cls.check_extra(out)
        return out

    @classmethod
    def check_extra(cls, params: dict[str, Any]) -> None:
        """Semantic checks of the transform's own parameters (raise RecipeError)."""

    @classmethod
    def missing_data(cls, params: dict[str, Any] | None = None) -> str | None:
        """Why the transform cannot run here (its data is absent), or None when it can."""
        return None

    def __call__(self, text: str, seed: int) -> str:
        return self.transform(text, seed)

    def transform(self, text: str, seed: int) -> str:
        raise NotImplementedError

    # transforms hold lazily built helpers (nlpaug augmenters) that need not travel to worker processes
    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


def _checked(transform: str, key: str, value: Any, default: Any) -> Any:
    if key == "max" and value is None:
        return None
    expected = int if key in ("min", "max") else type(default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, list):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RecipeError(
                f"augment: transform {transform!r}: {key} must be a list of strings, got {value!r}"
            )
        return list(value)
    if type(value) is not expected:
        raise RecipeError(
            f"augment: transform {transform!r}: {key} should be {expected.__name__}, got {value!r}"
        )
    return value
