"""autograms: chatbots (and other long-running interactive programs) as ordinary Python
functions that pause at ``reply()`` and resume later, in any process.

The continuation engine lives in `autograms._frames`; the dialog layer is built on it.
"""

from ._version import __version__

__all__ = ["__version__"]
