"""The oracle: a generated program run as plain Python, with no pausing machinery.

A reference-flavour program (`render`) imports its autograms names from here:
``autograms_function`` leaves functions alone, ``reply`` hands its text to the driver and
blocks on a queue until the next scripted message, which it returns (the program runs in a
thread of its own), GOTO and RETURNTO raise `Jump` for the loops `reference` writes, and
``refused_reply`` -- a pause the engine must refuse -- ends the run there as the engine's
refusal does: the driver records the ContinuationError the caller gets, and the program's own
handlers never see it (they run only afterwards, unrecorded, when the thread is let go).

`run` records the same transcript as the engine runs (`runner`), so the two compare equal
exactly when the engine behaved as plain Python.
"""

from __future__ import annotations

import contextlib
import io
import queue
import re
import sys
import threading
import types
from collections.abc import Callable, Iterator
from typing import Any

from .transcript import describe_exception

#: line events a program may run before it is stopped as looping forever
STEP_LIMIT = 400_000
#: seconds the driver waits for a program to pause or finish
WAIT_SECONDS = 60.0
#: what a repr shows that differs from run to run: an address, a module's (generated) name
_UNSTABLE = re.compile(r" at 0x[0-9a-f]+|<class '|<function |<module |agfz_")


class ContinuationError(Exception):
    """Stands for the engine's refusal at a pause it cannot resume."""


class Jump(BaseException):
    """A GOTO or RETURNTO on its way to the loop that stands for its region."""

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.label = label


class Stop(BaseException):
    """Ends a program when the script runs out (or it ran too long)."""


class Exhausted(Stop):
    """The program asked for more messages than the script has."""


class StepLimit(Stop):
    """The program ran more than STEP_LIMIT lines without finishing."""


_current = threading.local()


def autograms_function(*_args: Any, **_kwargs: Any) -> Callable[[Any], Any]:
    return lambda function: function


def reply(text: Any, data: Any = None, ADDRESS: str | None = None) -> str:  # noqa: N803
    return _current.exchange(str(text))


def refused_reply(text: Any, data: Any = None, ADDRESS: str | None = None) -> str:  # noqa: N803
    return _current.refuse(str(text))


# A call with wrong arguments names the function in its TypeError: make it say "reply" too.
refused_reply.__name__ = refused_reply.__qualname__ = "reply"
refused_reply.__code__ = refused_reply.__code__.replace(co_name="reply", co_qualname="reply")


def GOTO(destination: str) -> None:  # noqa: N802
    raise Jump(destination)


def RETURNTO(destination: str) -> None:  # noqa: N802
    raise Jump(destination)


def init_user_globals() -> dict[str, Any]:
    return {}


def set_persistent_globals() -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


def load(source: str, name: str) -> types.ModuleType:
    """Execute `source` as a module called `name`, registered in sys.modules under it."""
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    sys.modules[name] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102
    return module


@contextlib.contextmanager
def _registered(name: str) -> Iterator[None]:
    """`name` in sys.modules as the program while it runs (``@dataclass`` looks its class's
    module up there), then as it was."""
    previous = sys.modules.pop(name, None)
    try:
        yield
    finally:
        sys.modules.pop(name, None)
        if previous is not None:
            sys.modules[name] = previous


def run(source: str, script: list[str], name: str = "oracle_program") -> list:
    """The transcript of the program in `source`, answered with `script` (ending in
    ``["invalid", why]`` if the module cannot even be loaded)."""
    with _registered(name):
        return _run(source, script, name)


def _run(source: str, script: list[str], name: str) -> list:
    try:
        module = load(source, name)
    except Exception as exc:  # noqa: BLE001 - e.g. a syntax newer than this Python
        return [["out", ""], ["invalid", describe_exception(exc)]]
    to_driver: queue.Queue = queue.Queue()
    to_program: queue.Queue = queue.Queue()

    def exchange(text: str) -> str:
        to_driver.put(("reply", text))
        message = to_program.get()
        if message is Exhausted:
            raise Exhausted
        return message

    def refuse(text: str) -> str:
        to_driver.put(("refused", text))
        to_program.get()  # the transcript has ended: unwind, unrecorded
        raise Exhausted

    def program() -> None:
        _current.exchange, _current.refuse = exchange, refuse
        steps = [0]

        def budget(frame: Any, event: str, arg: Any) -> Any:
            steps[0] += 1
            if steps[0] > STEP_LIMIT:
                raise StepLimit
            return budget

        sys.settrace(budget)
        try:
            module.chatbot()
        except BaseException as exc:  # noqa: BLE001 - recorded in the transcript
            to_driver.put(("raise", exc))
        else:
            to_driver.put(("end", None))
        finally:
            sys.settrace(None)

    buffer = io.StringIO()
    thread = threading.Thread(target=program, daemon=True, name=f"oracle {name}")
    with contextlib.redirect_stdout(buffer):
        thread.start()
        events = _drive(to_driver, to_program, buffer, iter(script))
        thread.join(WAIT_SECONDS)
    if thread.is_alive():  # it would outlive the test, still running the program
        raise RuntimeError(f"the reference run of {name} did not end after its script")
    return events


def _drive(to_driver: queue.Queue, to_program: queue.Queue, buffer: io.StringIO, script) -> list:
    events: list = []
    while True:
        kind, value = to_driver.get(timeout=WAIT_SECONDS)
        events.append(["out", _take(buffer)])
        if _UNSTABLE.search(events[-1][1]):  # no two runs would agree on it
            events.append(["invalid", "the program prints an address or a module name"])
            if kind == "reply":
                to_program.put(Exhausted)
                _drain(to_driver, to_program)
            return events
        if kind == "reply":
            events.append(["reply", value])
            message = next(script, Exhausted)
            to_program.put(message)
            if message is Exhausted:
                _drain(to_driver, to_program)
                return events
        elif kind == "end":
            events.append(["end"])
            return events
        elif kind == "refused":
            refusal = ContinuationError(f"the engine must refuse this pause ({value!r})")
            events.append(["raise", describe_exception(refusal)])
            to_program.put(Exhausted)
            _drain(to_driver, to_program)
            return events
        elif isinstance(value, StepLimit):
            events.append(["timeout"])
            return events
        elif isinstance(value, MemoryError):
            events.append(["invalid", "the program outgrows the memory limit"])
            return events
        elif isinstance(value, Jump):  # no loop for its label: the reference is broken
            events.append(["invalid", f"GOTO/RETURNTO {value.label!r} reached no region"])
            return events
        else:
            events.append(["raise", describe_exception(value)])
            return events


def _drain(to_driver: queue.Queue, to_program: queue.Queue) -> None:
    """Let a program stopped at an exhausted script unwind (its finally blocks may ask
    again; every further reply is refused the same way)."""
    while True:
        kind, _ = to_driver.get(timeout=WAIT_SECONDS)
        if kind not in ("reply", "refused"):
            return
        to_program.put(Exhausted)


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
