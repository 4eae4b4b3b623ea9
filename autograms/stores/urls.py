"""Opening a store from its URL.

==================================== ==================================================
``sqlite:///sessions.db``            a file relative to the working directory
``sqlite:////var/lib/bot/s.db``      an absolute path (four slashes)
``postgresql://user@host:5432/db``   PostgreSQL (libpq URL; ``postgres://`` also works;
                                     needs the ``autograms[postgres]`` extra)
==================================== ==================================================
"""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any

from .. import session
from . import integrity
from .base import Store
from .errors import StoreError

logger = logging.getLogger("autograms")

SCHEMES = ("sqlite", "postgresql", "postgres")


def open_store(url: str, *, create: bool = True, **options: Any) -> Store:
    """The store at `url`, with its tables created or upgraded first when `create` (else a
    database without this release's schema is refused with StoreSchemaError). `options` go
    to the backend (``busy_timeout`` for SQLite; ``min_size``, ``max_size`` for PostgreSQL's
    connection pool)."""
    check_url(url)
    if url.partition(":")[0].lower() == "sqlite":
        from .sqlite import SQLiteStore

        store: Store = SQLiteStore(sqlite_path(url), **options)
    else:
        from .postgres import PostgresStore

        store = PostgresStore(url, **options)
    try:
        store.require_schema(create)
    except BaseException:
        store.close()
        raise
    return store


def check_url(url: str) -> None:
    """Refuse (StoreError, reason ``"bad url"``) a URL no store takes, without opening it."""
    scheme = url.partition(":")[0].lower()
    if scheme == "sqlite":
        sqlite_path(url)
    elif scheme not in SCHEMES:
        raise StoreError(
            f"unknown store URL {hide_password(url)!r}: expected one of "
            + ", ".join(f"{name}://..." for name in SCHEMES),
            reason="bad url",
        )


def migrate(url: str, *, session_key: str | bytes | None = None) -> int:
    """Create or upgrade the tables of the store at `url`; returns the schema version.

    With `session_key` (the key its bots sign with), also seal the rows written before schema
    2 whose blob that key signed, and the turn rows written before schema 3: a signed store
    refuses unsealed rows. Rows it cannot seal are logged (`integrity.seal_unsealed`)."""
    store = open_store(url, create=True)
    try:
        if session_key is not None:
            key = session.session_key(session_key)
            if key is not None:
                sealed, refused = integrity.seal_unsealed(store, key)
                logger.info("sealed %d sessions of %s", sealed, store.url)
                if refused:
                    logger.warning(
                        "%d sessions of %s are not signed with this key and stay unsealed "
                        "(refused by a signed bot): %s",
                        len(refused),
                        store.url,
                        ", ".join(refused[:20]),
                    )
        return store.schema_version()
    finally:
        store.close()


def sqlite_path(url: str) -> str:
    """The file a ``sqlite:///PATH`` URL names."""
    parts = urllib.parse.urlsplit(url)
    path = urllib.parse.unquote(parts.path)
    if parts.netloc or not path.startswith("/") or len(path) < 2:
        raise StoreError(
            f"bad SQLite store URL {url!r}: write sqlite:///relative/path.db or "
            "sqlite:////absolute/path.db",
            reason="bad url",
        )
    path = path[1:]
    if path == ":memory:":
        raise StoreError(
            "an in-memory SQLite database cannot be shared between connections; "
            "use a file (sqlite:///sessions.db)",
            reason="bad url",
        )
    return path


#: query parameters of a store URL that hold secrets (libpq takes the password there too)
_SECRET_PARAMETERS = frozenset({"password", "sslpassword"})


def hide_password(url: str) -> str:
    """`url` with its password replaced by ``***``, whether it is given as
    ``user:password@`` or as a ``?password=`` query parameter."""
    parts = urllib.parse.urlsplit(url)
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    secret = any(name.lower() in _SECRET_PARAMETERS for name, _ in pairs)
    if parts.password is None and not secret:
        return url  # (urlunsplit would also drop the empty host of sqlite:///path)
    if parts.password is not None:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1))
    if secret:
        hidden = [(n, "***" if n.lower() in _SECRET_PARAMETERS else v) for n, v in pairs]
        parts = parts._replace(query=urllib.parse.urlencode(hidden, safe="*"))
    return urllib.parse.urlunsplit(parts)
