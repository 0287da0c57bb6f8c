"""Near-duplicate detection with MinHash LSH, global across a run, memory-bounded, incremental and audited.

shingles.py    word / character n-gram hashes for a batch of texts (numpy), with a plain-Python reference
params.py      MinHash parameters (num_perm, bands x rows, or bands chosen for a threshold), datasketch's
               permutations, fingerprint
signatures.py  signatures (equal to datasketch's affine32 MinHash), band hashes, shingle sets, augmented-copy
               families, per-shard spill to disk with checksums
lsh.py         candidate edges by sorting band hashes (no hash table of documents)
unionfind.py   numpy union-find over document numbers
engine.py      the pass: signatures -> candidates (+ verification) -> clusters -> keep policy (families apart)
index.py       saved indexes for incremental runs: header with parameter digest and checksums
audit.py       the duplicates dataset (one row per cluster)
resolve.py     what the `dedup` step calls: resolve() for the run, Decisions for each document
"""
