"""Saved dedup indexes, for incremental runs: a later dump is deduplicated against the documents an earlier run
kept, and the earlier run is never rewritten.

An index is a folder:
    index.json        header: format, version, parameters and their digest, document count, and every file's
                      size and SHA-256
    signatures.npy    uint32 (documents x num_perm)
    bands.npy         uint64 (bands x documents)
    ids.arrow         document id, cluster id, family (hash of the id, or of an augmented copy's source id)
                      and whether it is an augmented copy, of each document
    shingles.u32 + shingle_offsets.npy   sorted shingle sets (only when saved by a run with verify: exact)
A folder whose header is missing or unreadable, whose parameters differ from the run's, or whose files are
missing, truncated or altered is refused with one clear error, never a traceback: the step checks all of it,
checksums included, before the run starts, and again when the index is loaded (a file verified once in a
process and unchanged since, same inode, size, mtime and ctime, is not hashed again).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.ipc as ipc

from corpus.dedup.params import MinHashParams
from corpus.errors import InputError, RecipeError
from corpus.files import file_digest

FORMAT = "corpus-dedup-index"
VERSION = 2  # 2: 32-bit shingle sets, families in ids.arrow
HEADER = "index.json"
ID_SCHEMA = pa.schema(
    [("id", pa.string()), ("cluster_id", pa.string()), ("family", pa.uint64()), ("augmented", pa.bool_())]
)
# file -> (inode, bytes, mtime_ns, ctime_ns, sha256) of the files verified in this process: the step checks
# an index when the recipe is loaded and again when it builds the step and loads the index (SHA-256 of a
# million-document index takes about a second each time)
_verified: dict[str, tuple] = {}


def _checksum_ok(file_path: str, expected: object) -> bool:
    st = os.stat(file_path)
    stamp = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, str(expected))
    if _verified.get(file_path) == stamp:
        return True
    if file_digest(file_path) != expected:
        return False
    _verified[file_path] = stamp
    return True


def read_header(path: str) -> dict:
    header_path = os.path.join(path, HEADER)
    if not os.path.isdir(path):
        raise InputError(f"dedup index {path} does not exist (give the folder written by save_index)")
    try:
        with open(header_path, "rb") as f:
            header = orjson.loads(f.read())
    except OSError:
        raise InputError(f"{path} is not a dedup index: {HEADER} is missing") from None
    except orjson.JSONDecodeError:
        raise InputError(f"dedup index {path} is corrupt: {HEADER} is not valid JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise InputError(f"{path} is not a dedup index ({HEADER} has no format {FORMAT!r})")
    if header.get("version") != VERSION:
        raise InputError(
            f"dedup index {path} has format version {header.get('version')}, expected {VERSION}: it was saved "
            "by another corpus version; save it again with this one"
        )
    return header


def check_index(path: str, params: MinHashParams, need_shingles: bool, full: bool = False) -> dict:
    """Refuse an index that cannot be used with these parameters. `full` also checks every file's SHA-256
    (reads the whole index, once per process while the files are unchanged); otherwise only the header,
    parameters and file sizes are checked."""
    header = read_header(path)
    if header.get("params_digest") != params.digest:
        theirs = header.get("params", {})
        diffs = [
            f"{k}={theirs.get(k)!r} (this run: {v!r})"
            for k, v in params.fingerprint().items()
            if theirs.get(k) != v
        ]
        raise RecipeError(
            f"dedup index {path} was built with other MinHash parameters: {', '.join(diffs) or 'digest differs'}"
        )
    if need_shingles and not header.get("shingles"):
        raise RecipeError(
            f"dedup index {path} holds no shingle sets (saved by a run without verify: exact), so candidates "
            "cannot be verified exactly against it; use verify: estimate or none"
        )
    for name, meta in header.get("files", {}).items():
        file_path = os.path.join(path, name)
        if not os.path.isfile(file_path):
            raise InputError(f"dedup index {path} is incomplete: {name} is missing")
        size = os.path.getsize(file_path)
        if size != meta.get("bytes"):
            raise InputError(
                f"dedup index {path} is truncated or was changed: {name} has {size} bytes, "
                f"its header says {meta.get('bytes')}"
            )
        if full and not _checksum_ok(os.path.abspath(file_path), meta.get("sha256")):
            raise InputError(f"dedup index {path} is corrupt: {name} does not match its checksum")
    return header


@dataclass
class LoadedIndex:
    path: str
    documents: int
    signatures: np.ndarray  # memory-mapped
    bands: np.ndarray  # memory-mapped
    ids: pa.Array
    cluster_ids: pa.Array
    family: np.ndarray
    augmented: np.ndarray
    shingles: tuple[np.ndarray, np.ndarray] | None


def load_index(path: str, params: MinHashParams, need_shingles: bool) -> LoadedIndex:
    header = check_index(path, params, need_shingles, full=True)
    n = int(header["documents"])
    try:
        signatures = np.load(os.path.join(path, "signatures.npy"), mmap_mode="r")
        bands = np.load(os.path.join(path, "bands.npy"), mmap_mode="r")
        with ipc.open_file(os.path.join(path, "ids.arrow")) as reader:
            table = reader.read_all()
        shingles = None
        if need_shingles:
            offsets = np.load(os.path.join(path, "shingle_offsets.npy"))
            values = (
                np.memmap(os.path.join(path, "shingles.u32"), dtype=np.uint32, mode="r")
                if offsets[-1]
                else np.zeros(0, np.uint32)
            )
            shingles = (values, offsets)
    except (ValueError, OSError, pa.ArrowInvalid) as err:
        raise InputError(f"dedup index {path} is corrupt: {err}") from None
    if table.schema != ID_SCHEMA:
        raise InputError(f"dedup index {path} is corrupt: ids.arrow does not have the expected columns")
    if signatures.shape != (n, params.num_perm) or bands.shape != (params.bands, n) or table.num_rows != n:
        raise InputError(f"dedup index {path} is corrupt: array shapes do not match its {n} documents")
    return LoadedIndex(
        path,
        n,
        signatures,
        bands,
        table["id"].combine_chunks(),
        table["cluster_id"].combine_chunks(),
        table["family"].to_numpy(),
        table["augmented"].to_numpy(zero_copy_only=False),
        shingles,
    )


class IndexWriter:
    """Writes an index folder under a temporary name, then moves it into place (replacing an older index
    there), so a reader never sees a half-written index."""

    def __init__(self, path: str, params: MinHashParams, documents: int, shingles: bool) -> None:
        self.path, self.params, self.documents, self.with_shingles = path, params, documents, shingles
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        self.tmp = os.path.join(parent, f".{os.path.basename(os.path.abspath(path))}.tmp-{os.getpid()}")
        shutil.rmtree(self.tmp, ignore_errors=True)
        os.makedirs(self.tmp)
        self.signatures = np.lib.format.open_memmap(
            os.path.join(self.tmp, "signatures.npy"),
            mode="w+",
            dtype=np.uint32,
            shape=(documents, params.num_perm),
        )
        self.bands = np.lib.format.open_memmap(
            os.path.join(self.tmp, "bands.npy"), mode="w+", dtype=np.uint64, shape=(params.bands, documents)
        )
        self.ids = ipc.new_file(os.path.join(self.tmp, "ids.arrow"), ID_SCHEMA)
        self.shingle_file = open(os.path.join(self.tmp, "shingles.u32"), "wb") if shingles else None
        self.shingle_sizes = np.zeros(documents + 1, np.int64) if shingles else None
        self.row = 0

    def add(
        self,
        signatures: np.ndarray,
        bands: np.ndarray,
        ids: pa.Array,
        cluster_ids: pa.Array,
        family: np.ndarray,
        augmented: np.ndarray,
        sets: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Append documents: their signatures, band hashes (bands x documents), ids, cluster ids, families,
        augmented flags and, for an index with shingles, their sets (flat values, size of each)."""
        lo, hi = self.row, self.row + len(ids)
        self.signatures[lo:hi] = signatures
        self.bands[:, lo:hi] = bands
        columns = [ids, cluster_ids, pa.array(family, pa.uint64()), pa.array(augmented, pa.bool_())]
        self.ids.write_table(pa.Table.from_arrays(columns, schema=ID_SCHEMA))
        if self.shingle_file is not None and sets is not None:
            values, sizes = sets
            self.shingle_file.write(np.ascontiguousarray(values, np.uint32).tobytes())
            self.shingle_sizes[lo + 1 : hi + 1] = sizes
        self.row = hi

    def close(self, run: str) -> None:
        self.signatures.flush()
        self.bands.flush()
        del self.signatures, self.bands
        self.ids.close()
        names = ["signatures.npy", "bands.npy", "ids.arrow"]
        if self.shingle_file is not None:
            self.shingle_file.close()
            with open(os.path.join(self.tmp, "shingle_offsets.npy"), "wb") as f:
                np.save(f, np.cumsum(self.shingle_sizes))
            names += ["shingles.u32", "shingle_offsets.npy"]
        files = {}
        for name in names:
            file_path = os.path.join(self.tmp, name)
            files[name] = {"bytes": os.path.getsize(file_path), "sha256": file_digest(file_path)}
        header = {
            "format": FORMAT,
            "version": VERSION,
            "params": self.params.fingerprint(),
            "params_digest": self.params.digest,
            "documents": self.documents,
            "shingles": self.with_shingles,
            "run": run,
            "files": files,
        }
        with open(os.path.join(self.tmp, HEADER), "wb") as f:
            f.write(orjson.dumps(header, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        old = None
        if os.path.exists(self.path):
            old = self.tmp + ".old"
            os.replace(self.path, old)
        os.replace(self.tmp, self.path)
        if old:
            shutil.rmtree(old, ignore_errors=True)
