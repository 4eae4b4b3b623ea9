"""Frames whose header entries name every kind of field: hidden value-stack items (a for-loop
iterator, a with statement's exit, a partly evaluated call), cells, an ADDRESS label, and a
user local left unbound."""

import contextlib

from autograms import _frames


def label_taker(value, ADDRESS=None):  # noqa: N803 - the keyword the engine labels calls by
    return value


def inner(count):
    shared = count

    def read():
        return shared

    total = read() + len(str(_frames.pause("inner")))
    return total


def outer(items):
    results = []
    for item in items:
        with contextlib.nullcontext():
            results.append(max(item, inner(item)))
        if item > 1:
            late = label_taker(_frames.pause("labelled"), ADDRESS="ask")
            results.append(late)
    return results


_frames.instrument(inner)
_frames.instrument(outer)
