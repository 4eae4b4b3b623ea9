"""``python -m autograms``: the ``autograms`` command (see `autograms.cli`)."""

import sys

from autograms.cli.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
