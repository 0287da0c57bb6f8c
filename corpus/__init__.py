"""corpus: raw web and book dumps in, clean, deduplicated, sharded training data out."""

__version__ = "0.1.0"
