"""A per-user cache of arrays that are slow to build and never change for a given key (a decompressed language
model, MinHash permutations): built once, then memory-mapped by every later run and worker.

Where: $CORPUS_CACHE_DIR, else $XDG_CACHE_HOME/corpus, else ~/.cache/corpus. The key names everything the
arrays depend on (library versions, parameters), so a stale entry is never read. An unwritable cache is no
error: the arrays are then built in memory on every run, as if there were no cache.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    if os.environ.get("CORPUS_CACHE_DIR"):
        return Path(os.environ["CORPUS_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "corpus"


def cached_arrays(key: str, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays stored under `key` (read-only, memory-mapped), built with `build()` and stored first when
    missing. An entry is a folder of .npy files, renamed into place whole, so a reader never sees half of
    one."""
    folder = cache_dir() / key
    if folder.is_dir():
        try:
            return {p.stem: np.load(p, mmap_mode="r") for p in sorted(folder.glob("*.npy"))}
        except (OSError, ValueError) as err:  # damaged by hand or a full disk: build again
            log.warning("cache entry %s unreadable (%s); rebuilding it", folder, err)
            shutil.rmtree(folder, ignore_errors=True)
    arrays = build()
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        try:
            os.rename(tmp, folder)
        except OSError:  # another process stored it first: same content
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as err:
        log.debug("cache %s not writable (%s): arrays kept in memory only", folder.parent, err)
    return arrays
