"""AutoGRAMS' module of the config class: ``from autograms.autogram_config import
AutogramConfig`` works as there (the class is `autograms.config.AutogramConfig`)."""

from __future__ import annotations

from .config import AutogramConfig

__all__ = ["AutogramConfig"]
