"""MinHash parameters: shingling, permutations and banding, resolved from a step's options, and the fingerprint
that ties signature files and saved indexes to them."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from functools import cache, cached_property
from importlib.metadata import version

import numpy as np
import orjson

from corpus.cache import cached_arrays
from corpus.dedup.shingles import NORMALIZATIONS, UNITS
from corpus.errors import RecipeError

# bump when shingling, hashing or band hashing changes: old signature files and indexes are then refused
ALGORITHM = "corpus-minhash-1"
DEFAULT_BANDS, DEFAULT_ROWS = 14, 8  # FineWeb's banding: S-curve midpoint (1/14)^(1/8) = 0.72
DEFAULT_THRESHOLD = 0.8
TARGET_RECALL = 0.95


@dataclass(frozen=True)
class MinHashParams:
    unit: str = "word"
    ngram: int = 5
    num_perm: int = DEFAULT_BANDS * DEFAULT_ROWS
    bands: int = DEFAULT_BANDS
    rows: int = DEFAULT_ROWS
    hash_seed: int = 1
    normalize: str = "default"  # "none": raw text.split() tokens (or raw characters), no lower-casing

    @cached_property
    def permutations(self) -> tuple[np.ndarray, np.ndarray]:
        """datasketch's affine32 permutation parameters (a odd, b), taken from datasketch's own MinHash, so
        signatures equal datasketch's MinHash(num_perm, seed=hash_seed, scheme="affine32") fed the same
        32-bit shingle hashes by construction (a test compares them)."""
        return datasketch_permutations(self.num_perm, self.hash_seed)

    def fingerprint(self) -> dict:
        a, b = self.permutations
        perms = hashlib.sha256(a.tobytes() + b.tobytes()).hexdigest()[:16]
        fields = asdict(self)
        if (
            fields["normalize"] == "default"
        ):  # left out, so spills and indexes saved before it existed still match
            del fields["normalize"]
        return {"algorithm": ALGORITHM, **fields, "permutations_sha256": perms}

    @cached_property
    def digest(self) -> str:
        return hashlib.sha256(orjson.dumps(self.fingerprint(), option=orjson.OPT_SORT_KEYS)).hexdigest()

    def describe(self) -> str:
        return (
            f"unit={self.unit} ngram={self.ngram} num_perm={self.num_perm} bands={self.bands} "
            f"rows={self.rows} hash_seed={self.hash_seed}"
            + (f" normalize={self.normalize}" if self.normalize != "default" else "")
        )


@cache
def datasketch_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of datasketch.MinHash(num_perm, seed, scheme="affine32"), read-only. datasketch imports scipy
    (0.4 to 0.9 s here), so they are drawn by datasketch once and cached (corpus.cache), keyed by datasketch's
    version and the parameters; later runs read them back without importing it."""

    def build() -> dict[str, np.ndarray]:
        from datasketch import MinHash

        a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
        return {"a": np.array(a, dtype=np.uint32), "b": np.array(b, dtype=np.uint32)}

    key = f"datasketch-{version('datasketch')}-affine32-{num_perm}-{seed}"
    arrays = cached_arrays(key, build)
    a, b = np.array(arrays["a"]), np.array(arrays["b"])  # small: a private copy, not a mapping
    a.setflags(write=False)
    b.setflags(write=False)
    return a, b


def catch_probability(similarity: float, bands: int, rows: int) -> float:
    """Probability that two documents of this Jaccard similarity share at least one band."""
    return 1.0 - (1.0 - similarity**rows) ** bands


def bands_for_threshold(threshold: float, num_perm: int) -> tuple[int, int]:
    """The sharpest banding (most rows per band, so fewest false candidates) that still catches a pair at
    exactly the threshold with probability >= 0.95: missed pairs are lost for good, while false candidates
    are only extra verification work.

    Not datasketch's MinHashLSH choice (datasketch.lsh._optimal_param): that one minimizes the weighted areas
    under the S-curve on both sides of the threshold, which puts the curve's midpoint near the threshold, so
    it catches a pair at exactly the threshold only about half the time (0.8 over 112 permutations: 9 x 12,
    probability 0.47; this rule: 16 x 7, 0.977). With verification dropping the false candidates, recall at
    the threshold is what matters."""
    for rows in range(num_perm, 0, -1):
        bands = num_perm // rows
        if catch_probability(threshold, bands, rows) >= TARGET_RECALL:
            return bands, rows
    return num_perm, 1


def resolve_params(
    unit: str,
    ngram: int,
    num_perm: int | None,
    bands: int | None,
    rows: int | None,
    threshold: float | None,
    hash_seed: int,
    normalize: str = "default",
) -> MinHashParams:
    """Check the options and fill in the banding: explicit bands x rows, else chosen for `threshold`, else
    FineWeb's 14 x 8 (over 112 permutations unless num_perm says otherwise)."""
    if unit not in UNITS:
        raise RecipeError(f"step 'dedup': unit must be one of {', '.join(UNITS)}, got {unit!r}")
    if normalize not in NORMALIZATIONS:
        raise RecipeError(
            f"step 'dedup': normalize must be one of {', '.join(NORMALIZATIONS)}, got {normalize!r}"
        )
    if ngram < 1:
        raise RecipeError(f"step 'dedup': ngram must be at least 1, got {ngram}")
    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise RecipeError(f"step 'dedup': threshold must be in (0, 1], got {threshold}")
    if (bands is None) != (rows is None):
        raise RecipeError(
            "step 'dedup': give both bands and rows (or neither, to derive them from threshold)"
        )
    if num_perm is not None and not 1 <= num_perm <= 4096:
        raise RecipeError(f"step 'dedup': num_perm must be between 1 and 4096, got {num_perm}")
    if bands is not None and rows is not None:
        if bands < 1 or rows < 1:
            raise RecipeError(f"step 'dedup': bands and rows must be positive, got {bands} x {rows}")
        num_perm = num_perm or bands * rows
        if bands * rows > num_perm:
            raise RecipeError(
                f"step 'dedup': bands x rows = {bands * rows} needs at least that many permutations, "
                f"num_perm is {num_perm}"
            )
    elif threshold is not None:
        num_perm = num_perm or DEFAULT_BANDS * DEFAULT_ROWS
        bands, rows = bands_for_threshold(threshold, num_perm)
    else:
        num_perm = num_perm or DEFAULT_BANDS * DEFAULT_ROWS
        if num_perm >= DEFAULT_BANDS * DEFAULT_ROWS:
            bands, rows = DEFAULT_BANDS, DEFAULT_ROWS
        else:  # too few permutations for 14 x 8: band them for the default threshold instead
            bands, rows = bands_for_threshold(DEFAULT_THRESHOLD, num_perm)
    return MinHashParams(unit, ngram, num_perm, bands, rows, hash_seed, normalize)
