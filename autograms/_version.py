"""The package version, read by pyproject.toml and written into session envelopes."""

__version__ = "0.1.0"
