"""SHA-256 from the interpreter's own implementation, so a turn need not load OpenSSL.

Importing `hashlib` (or `hmac`) loads OpenSSL's libcrypto: ~3 ms of the ~50 ms a fresh process
spends before it answers its first turn (issue 11), for the few short digests a turn makes (a
log chunk's). CPython's built-in SHA-256 (`_sha2`; `_sha256` on 3.11) gives the same digests;
`hashlib` is the fallback where neither is built. Signing and digests of whole files still use
`hmac`/`hashlib` (imported when first used): only sessions with a key need them.
"""

from __future__ import annotations

try:
    from _sha2 import sha256  # 3.12+
except ImportError:  # pragma: no cover - depends on the interpreter
    try:
        from _sha256 import sha256  # 3.11
    except ImportError:
        from hashlib import sha256

__all__ = ["sha256"]
