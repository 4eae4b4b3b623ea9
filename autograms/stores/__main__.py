"""``python -m autograms.stores migrate URL [--seal]``: create or upgrade a store's tables;
with ``--seal``, also seal the rows written before schema 2 (and the turn rows written before
schema 3) with the key in ``AUTOGRAMS_SESSION_KEY`` (see `autograms.stores.migrate`)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from ..session import KEY_VARIABLE
from .errors import StoreError
from .urls import hide_password, migrate


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; its exit status (1 when the store refused, 2 on a usage error)."""
    parser = argparse.ArgumentParser(prog="python -m autograms.stores", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("migrate", help="create or upgrade a store's tables")
    command.add_argument("url", help="sqlite:///path.db or postgresql://...")
    command.add_argument(
        "--seal", action="store_true", help=f"seal old rows with the key in {KEY_VARIABLE}"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    key = os.environ.get(KEY_VARIABLE) if args.seal else None
    if args.seal and not key:
        parser.error(f"--seal needs the session key in the environment variable {KEY_VARIABLE}")
    try:
        version = migrate(args.url, session_key=key)
    except StoreError as error:
        sys.stderr.write(f"autograms.stores: {error}\n")
        return 1
    sys.stdout.write(f"{hide_password(args.url)}: autograms schema {version}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
