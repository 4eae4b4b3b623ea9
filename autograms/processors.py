"""Processors, at AutoGRAMS' import path ``autograms.processors``: `ReplyProcessor` runs a
turn on the current memory, `BatchProcessor` the next turn several times."""

from ._processors import BatchProcessor, ReplyProcessor

__all__ = ["BatchProcessor", "ReplyProcessor"]
