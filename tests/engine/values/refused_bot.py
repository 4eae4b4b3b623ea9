"""Programs that pause holding an operating-system resource or running state, each reached
another way: a module-level lock, a closure cell, a class only dill can save, a list."""

import io
import threading

from autograms import autograms_function
from autograms.functional import reply

LOCK = threading.Lock()


@autograms_function()
def lock_from_module():
    lock = LOCK
    reply("holding the module's lock")
    return lock.locked()


@autograms_function()
def file_in_closure():
    stream = io.StringIO("text")

    def first_line():
        return stream.readline()

    reply("a closure over a stream")
    return first_line()


@autograms_function()
def file_in_local_class():
    class Holder:
        stream = io.StringIO("text")

    holder = Holder()
    reply("a class defined here holds a stream")
    return holder.stream.read()


@autograms_function()
def generator_in_list():
    pending = [(number for number in range(3))]
    reply("a generator in a list")
    return list(pending[0])


@autograms_function()
def open_file_in_with():
    with open(__file__) as source:
        reply("reading this file")
        return source.readline()
