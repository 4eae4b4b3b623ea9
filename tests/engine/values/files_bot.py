"""Files closed by ``with`` blocks before a pause stay in the locals, as in the seed agent's
write_code; after the pause they are still closed files with their name and mode, on which
I/O raises ValueError."""

import io
import os

from autograms import autograms_function
from autograms.functional import reply


def _attempt(operation):
    try:
        return repr(operation())
    except (ValueError, OSError) as error:
        return type(error).__name__  # the wording differs between file types


def _describe(file):
    return (
        f"{os.path.basename(str(file.name))} {file.mode} closed={file.closed} "
        f"io={isinstance(file, io.IOBase)} read: {_attempt(file.read)} "
        f"readline: {_attempt(file.readline)} lines: {_attempt(lambda: list(file))}"
    )


@autograms_function()
def chatbot():
    with open(__file__) as text:
        first = text.readline()
    with open(os.devnull, "w") as sink:
        sink.write(first)
    with open(__file__, "rb") as data:
        data.read(3)
    both = [text, data]
    reply(f"read {first.strip()!r}")
    reply(_describe(text))
    reply(_describe(sink) + f" write: {_attempt(lambda: sink.write('x'))}")
    reply(_describe(data) + f" same: {both[1] is data}")
    with open(__file__, "rb", buffering=0) as raw:
        raw.read(1)
    reply(f"{_describe(raw)} readinto: {_attempt(lambda: raw.readinto(bytearray(1)))}")
    stream = io.StringIO("text")
    stream.close()
    reply(f"stream closed={stream.closed} read: {_attempt(stream.read)}")
    return "done"
