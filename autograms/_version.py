"""The package version, read by pyproject.toml and written into session envelopes.

The major and minor numbers state the AutoGRAMS API this release is a drop-in for: 0.6.x runs
bots written for AutoGRAMS 0.6.0 (and 0.5.x) unchanged, and passes their version checks
(``autograms.__version__ >= "0.5.2"``, compared as integers). The patch number counts this
implementation's releases. Sessions are read by their format number, not by this version.
"""

__version__ = "0.6.1"
