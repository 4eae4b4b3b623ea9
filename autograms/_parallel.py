"""Running a function many times at once, each run with a session memory of its own.

``parallel_wrapper(summarize, [{"text": a}, {"text": b}])`` inside a program calls
``summarize(text=a)`` and ``summarize(text=b)`` concurrently, each under its own copy of the
running session's memory (so each sees the conversation so far), and returns their results in
order. What the runs change in their conversations (thoughts) is not merged back, as in
AutoGRAMS, whose runs were separate processes; the log entries they add (their model calls,
with their token usage) are appended to the running session's log, run by run in the order of
`arg_list`, so ``memory_dict["model_turns"]`` accounts for every call. Pausing (``reply``,
``GOTO`` ...) is refused inside a run.

AutoGRAMS used a process pool; these runs are threads. Model calls spend their time waiting
for the server, so threads overlap them as well, without pickling the function; CPU-bound
functions do not run faster this way.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import _frames
from ._errors import ConversationError
from .memory import MemoryObject, get_memory, set_memory, use_memory

#: runs at once at most
MAX_WORKERS = 16


def parallel_wrapper(
    function: Callable[..., Any],
    arg_list: Sequence[Mapping[str, Any]],
    mem_list: Sequence[MemoryObject | bytes] | None = None,
    with_autograms_memory: bool = True,
) -> list[Any]:
    """``[function(**args) for args in arg_list]``, computed concurrently.

    Each run uses ``mem_list[i]`` as its memory when given (a memory, or a memory pickled
    with pickle or dill, as AutoGRAMS' ``mem_list`` of serialized memories), else
    (`with_autograms_memory`) a copy of the current session's memory, else none. The first
    exception of a run is raised once every run has finished.
    """
    if mem_list is not None and len(mem_list) != len(arg_list):
        raise ValueError(
            f"mem_list has {len(mem_list)} memories for {len(arg_list)} argument sets; give "
            "one memory per run"
        )
    current = get_memory() if with_autograms_memory else None
    memories = (
        [_memory_of(item, n) for n, item in enumerate(mem_list)]
        if mem_list is not None
        else [None] * len(arg_list)
    )
    if mem_list is None and current is not None:
        memories = [copy_memory(current) for _ in arg_list]
    if not arg_list:
        return []
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(arg_list))) as pool:
        futures = [
            pool.submit(process_task, function, args, memory)
            for args, memory in zip(arg_list, memories, strict=True)
        ]
    # Leaving the pool waited for every run: the model calls each made (a failed one too)
    # were paid for, so all go into the session's log before a failure is raised.
    if mem_list is None and current is not None:
        for memory in memories:
            current.extend_log(memory.model_turns)
    return [future.result() for future in futures]


def _memory_of(item: MemoryObject | bytes, index: int) -> MemoryObject:
    """``mem_list[index]`` as a memory: itself, or unpickled (dill reads pickle's too)."""
    if isinstance(item, (bytes, bytearray)):
        import dill  # slow to import; only AutoGRAMS-style pickled memories need it

        item = dill.loads(item)
    if not isinstance(item, MemoryObject):
        raise TypeError(
            f"mem_list[{index}] must be a memory or a pickled memory, not {type(item).__name__}"
        )
    return item


def copy_memory(memory: MemoryObject) -> MemoryObject:
    """A memory with the same config, model and modes as `memory`, a deep copy of its state
    and an empty log (an independent session that starts where `memory` is now, idle)."""
    view = memory.memory_dict
    state = {key: view[key] for key in view if key not in ("model_turns", "stack")}
    return MemoryObject(
        memory.config,
        memory.root_function,
        copy.deepcopy(state),
        model=memory.model,
        test_mode=memory.test_mode,
        supervisor_mode=memory.supervisor_mode,
    )


def initialize_thread_local(shared_object: MemoryObject | None) -> None:
    """Make `shared_object` the current memory of this thread."""
    set_memory(shared_object)


def process_task(
    function_pkl: Callable[..., Any] | bytes,
    args: Mapping[str, Any],
    shared_object_encoding: MemoryObject | None = None,
) -> Any:
    """One run of `parallel_wrapper`: ``function(**args)``, with `shared_object_encoding` as
    the current memory while it runs (pausing refused) if given. `function_pkl` is the
    function, or its dill pickle as AutoGRAMS passed it."""
    if isinstance(function_pkl, bytes):
        import dill  # slow to import; only AutoGRAMS-style pickled functions need it

        function_pkl = dill.loads(function_pkl)
    function = function_pkl
    name = getattr(function, "__qualname__", repr(function))
    if shared_object_encoding is None:
        return _run(function, args, name)
    with use_memory(shared_object_encoding):
        with shared_object_encoding.pausing_forbidden(f"inside parallel_wrapper({name})"):
            return _run(function, args, name)


def _run(function: Callable[..., Any], args: Mapping[str, Any], name: str) -> Any:
    outcome = _frames.run(function, kwargs=dict(args))
    if isinstance(outcome, _frames.Paused):
        raise ConversationError(f"{name} paused inside parallel_wrapper(); runs cannot pause")
    return outcome.value
