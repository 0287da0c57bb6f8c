"""Where a command writes. Every command that takes --output and --overwrite goes through here before it
writes anything, so that no command ever deletes what it reads or what it did not make:

- `check_separate`: the output is not the input, does not hold it and does not lie inside it (paths
  compared after symlinks are resolved), so --overwrite can never delete the input and a rerun never reads
  its own output;
- `clear_output`: --overwrite empties a folder only when a corpus command made it (`made_by`) or when it is
  already empty; any other non-empty folder is refused, nothing deleted;
- `create_output`: makes the folder, with one line instead of a traceback where that is impossible.

Each raises OutputError, which the CLI prints as one line with exit 2.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterable

from corpus.errors import OutputError


def _json(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def made_by(folder: str) -> str | None:
    """What shows that a corpus command made `folder` (None if nothing does): a dataset's work folder
    (.corpus/run.json) or manifest, token shards' meta.json or their work folder, a tokenizer's
    training.json. Each file is read, not just found, so a user's own manifest.json does not count."""
    run = _json(os.path.join(folder, ".corpus", "run.json"))
    if run and "fingerprint" in run:
        return "a corpus run (.corpus/run.json)"
    manifest = _json(os.path.join(folder, "manifest.json"))
    if manifest and {"shards", "schema", "recipe"} <= manifest.keys():
        return "a corpus dataset (manifest.json)"
    meta = _json(os.path.join(folder, "meta.json"))
    if meta and str(meta.get("format", "")).startswith("corpus-tokens/"):
        return "corpus token shards (meta.json)"
    if _json(os.path.join(folder, ".parts", "run.json")):
        return "unfinished corpus token shards (.parts/run.json)"
    training = _json(os.path.join(folder, "training.json"))
    if training and "vocab_size" in training and os.path.isfile(os.path.join(folder, "tokenizer.json")):
        return "a corpus tokenizer (training.json)"
    return None


def _real(path: str) -> str:
    return os.path.realpath(os.path.abspath(path))


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_separate(output: str, inputs: Iterable[str], what: str = "the input") -> None:
    """Refuse an output that is one of the inputs, holds one, or lies inside an input folder. `inputs` are
    the files and folders the command reads (a folder input as the folder: reading it lists everything
    under it). Paths are compared after symlinks are resolved, so a link to the input is the input."""
    out = _real(output)
    for given in inputs:
        real = _real(given)
        if real == out:
            raise OutputError(f"output {output} is {what} {given}; choose another --output")
        if _within(real, out):
            raise OutputError(f"output {output} would hold {what} {given}; choose an --output outside it")
        if os.path.isdir(real) and _within(out, real):
            raise OutputError(
                f"output {output} lies inside {what} folder {given}; choose an --output outside it"
            )


def folder_inputs(folder: str, files: Iterable[str]) -> list[str]:
    """What a command that lists `folder` reads, for check_separate: the folder, plus the files among
    `files` (paths) that are symlinks, since their targets may lie anywhere."""
    return [folder, *(f for f in files if os.path.islink(f))]


def check_replaceable(output: str) -> None:
    """Refuse --overwrite on a non-empty folder that no corpus command made."""
    if os.path.isdir(output) and os.listdir(output) and made_by(output) is None:
        raise OutputError(
            f"output {output} is not empty and no corpus command made it (no manifest.json, .corpus/, "
            "token meta.json or training.json); --overwrite only replaces corpus output, so nothing was "
            "deleted: choose another --output or empty it yourself"
        )


def clear_output(output: str) -> None:
    """--overwrite: empty `output` if a corpus command made it; an empty or missing folder needs nothing.
    The folder itself stays (it may be a mount point, a symlink, or have its own permissions)."""
    check_replaceable(output)
    for name in os.listdir(output) if os.path.isdir(output) else []:
        path = os.path.join(output, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def check_not_file(output: str) -> None:
    if os.path.exists(output) and not os.path.isdir(output):
        raise OutputError(f"output {output} exists and is not a directory")


def create_output(output: str) -> None:
    """Make the output folder (and its parents), or fail with one line saying why."""
    check_not_file(output)
    try:
        os.makedirs(output, exist_ok=True)
    except OSError as err:
        raise OutputError(f"output {output} cannot be created: {err.strerror or err}") from None
    if not os.access(output, os.W_OK | os.X_OK):
        raise OutputError(f"output {output} is not writable")


def check_creatable(output: str) -> None:
    """Before anything is written: the output, or the nearest folder above it that exists, is a folder where
    this process can create entries. Tried for real (a probe folder made and removed at once): permission
    bits do not tell root that /proc or a read-only mount refuses."""
    check_not_file(output)
    here = os.path.abspath(output)
    while not os.path.exists(here):
        here = os.path.dirname(here)
    if not os.path.isdir(here):
        raise OutputError(f"output {output} cannot be created: {here} is not a directory")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".corpus-probe-", dir=here))
    except OSError as err:
        raise OutputError(f"output {output} cannot be created in {here}: {err.strerror or err}") from None


def disk_full(err: BaseException | None) -> bool:
    """ENOSPC or EDQUOT, raised here or in a worker, directly or as the cause of another error. pyarrow's and
    tokenizers' (Rust) errors carry only the message, so the message counts too."""
    while err is not None:
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(text in str(err) for text in (os.strerror(errno.ENOSPC), os.strerror(errno.EDQUOT))):
            return True
        err = err.__cause__ or err.__context__
    return False


def unfinished_run(dataset: str) -> str | None:
    """For a dataset folder whose run has not finished (a work folder, no manifest.json): what that means and
    how to resume, in one sentence. None for a finished run or a folder no run wrote."""
    run = _json(os.path.join(dataset, ".corpus", "run.json"))
    if not run or "fingerprint" not in run or os.path.isfile(os.path.join(dataset, "manifest.json")):
        return None
    command = run.get("command")
    how = f"`{command}`" if command else "the same corpus command (same recipe, input and --output)"
    return (
        "this run is unfinished (no manifest.json): its data/ holds only what the finished tasks wrote; "
        f"run {how} again to resume it"
    )
