from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
SAMPLE = REPO / "sample_data"


def pytest_configure(config):
    os.environ.setdefault("CORPUS_LOG_LEVEL", "WARNING")
    # a cache of the session's own (corpus.cache): tests build every cached array themselves, never read a
    # user's, and the CLI subprocesses they start share it through the environment
    os.environ["CORPUS_CACHE_DIR"] = tempfile.mkdtemp(prefix="corpus-test-cache-")


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED


@pytest.fixture(scope="session")
def sample() -> Path:
    return SAMPLE
