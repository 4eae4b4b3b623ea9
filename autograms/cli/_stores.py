"""Opening a store the subcommands read from: it must exist already."""

from __future__ import annotations

import os

from ..stores import Store, StoreError, open_store
from ..stores.urls import sqlite_path
from ._common import CliError


def open_existing_store(url: str) -> Store:
    """The store at `url`, never created; a `CliError` when it is missing or cannot be opened."""
    try:
        if url.partition(":")[0].lower() == "sqlite" and not os.path.isfile(sqlite_path(url)):
            raise CliError(f"no SQLite store at {sqlite_path(url)!r}")
        return open_store(url, create=False)
    except StoreError as exc:
        raise CliError(f"cannot open the store: {exc}") from exc
