"""API keys: who is calling, and whose sessions they may see.

With keys configured every request to the API needs one (``Authorization: Bearer KEY``, as the
OpenAI SDK sends it). Each key is an *owner*: the sessions it creates are stored under the
owner's id (`stored_id`), so another key never finds them (404) and two owners may use the
same client-chosen session id without meeting. The owner id is derived from the key's hash:
the key itself is never stored or logged. Without keys there is one anonymous owner (None)
and session ids are stored as they are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from .errors import HTTPError


class ApiKeys:
    """The keys a service accepts; empty when it runs without keys."""

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._owners = {_digest(key): owner_id(key) for key in keys if key}

    def __bool__(self) -> bool:
        return bool(self._owners)

    def __repr__(self) -> str:
        return f"<ApiKeys {len(self._owners)} key(s)>"

    def owner(self, authorization: str | None) -> str | None:
        """The owner an ``Authorization`` header names (None without keys); HTTPError 401
        when a key is needed and missing or unknown."""
        if not self._owners:
            return None
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise HTTPError(
                401,
                "missing_api_key",
                "this service needs an API key: send the header 'Authorization: Bearer KEY'",
            )
        owner = self._owners.get(_digest(key.strip()))
        if owner is None:
            raise HTTPError(401, "invalid_api_key", "the API key is not valid for this service")
        return owner


def owner_id(key: str) -> str:
    """The owner id of an API key: a name derived from the key's hash."""
    return "key-" + _digest(key)[:16]


def stored_id(owner: str | None, session_id: str) -> str:
    """The id a client's session has in the store: under its owner's name when keys are used
    (client session ids never contain "/")."""
    return session_id if owner is None else f"{owner}/{session_id}"


def client_id(owner: str | None, stored: str) -> str:
    """The id the client knows a stored session by."""
    return stored if owner is None else stored.removeprefix(f"{owner}/")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
