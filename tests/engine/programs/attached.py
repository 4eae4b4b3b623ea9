"""A program whose locals share objects with the caller's attachment."""

from autograms import _frames

STATE: dict = {}


def keep(items):
    items.append(_frames.pause(("holding", len(items))))
    items.append(_frames.pause("again"))
    return items


_frames.instrument(keep)
