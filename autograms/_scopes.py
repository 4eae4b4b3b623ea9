"""Which frames own a session's conversation levels, and levels opened only when needed.

Each decorated call has a conversation level (``turn_stack``, see ``_state``), but a level
matters only once something reads or changes the conversation (a reply, a model call, a
system prompt) or the program pauses while the call runs -- most calls do none of these. So in
a turn run by the engine (a *lazy* memory) a call opens no level and costs no call: the first
reader of the levels (`Scopes.materialize`) walks the stack and opens one for each decorated
frame above the innermost frame that owns one, inheriting the system prompt as the call would
have. A frame that owns a level closes it when it leaves: its function's leave gate is open
while any of its frames owns one, so the frames that own none return without calling anything.

After a resume, the levels saved with the snapshot belong to the rebuilt frames, outermost
first (`Scopes.bind_resumed`). Outside such a turn (``use_memory``, ``use_config``,
``parallel_wrapper``) there is no driver to stop a walk, so decorated calls open their levels
on entry (the entry gate, `_call_modes.ENTRY_GATE`, is open while such a memory is current).
"""

from __future__ import annotations

from types import FrameType

from ._record import Record
from . import _frames
from ._state import Level, close_level, new_level, take_turns


class _Owner(Record):
    """The frame whose call opened a level, and the gate that sends its return to `leave`."""

    __slots__ = ("frame", "gate")

    frame: FrameType
    gate: _frames.Gate | None

    def __init__(self, frame: FrameType, gate: _frames.Gate | None) -> None:
        self.frame = frame
        self.gate = gate


class Scopes:
    """The owners of a memory's levels above level 0, in the same order (None: a level
    restored from a snapshot whose frame is not rebuilt yet, or one that no frame owns)."""

    def __init__(self, *, lazy: bool = False) -> None:
        #: whether decorated calls leave their levels to `materialize` (a turn under the engine)
        self.lazy = lazy
        self.owners: list[_Owner | None] = []
        #: levels whose frames a resume has yet to rebuild
        self.unbound = 0

    def restored(self, levels: list[Level], *, resuming: bool) -> None:
        """The levels were loaded from a snapshot; `resuming`: its frames are about to be
        rebuilt, and each will own its level."""
        self.owners = [None] * (len(levels) - 1)
        self.unbound = len(self.owners) if resuming else 0

    def materialize(self, levels: list[Level], start: FrameType) -> None:
        """Open the levels of the decorated frames from `start` down to the innermost frame
        that owns one (or the engine's driver)."""
        if not self.lazy or self.unbound:
            return
        self._align(levels)
        top = self.owners[-1] if self.owners else None
        frames = _frames.hooked_frames(start, top.frame if top is not None else None)
        for frame in frames or ():
            info = _frames.lookup(frame.f_code)
            scope = getattr(info.function, "__autograms_scope__", None)
            if scope is not None:
                self.open(levels, scope, info.qualname, frame, info.hooks.leave_gate)

    def open(
        self,
        levels: list[Level],
        scope: str,
        function: str | None,
        frame: FrameType,
        gate: _frames.Gate | None = None,
    ) -> None:
        """Open a level owned by `frame` (inheriting its caller's system prompt)."""
        self._align(levels)
        level = new_level(scope, levels[-1]["system_prompt"], function)
        if self.lazy and len(levels) == 1:
            # the program's root call (a turn under the engine runs a decorated root): as in
            # AutoGRAMS, whose turn_stack is empty until the root pushes its level, the
            # messages recorded before it started are the first turns of its level
            take_turns(levels[0], level)
        levels.append(level)
        self.owners.append(_Owner(frame, gate))
        if gate is not None:
            gate.open()

    def close(self, levels: list[Level]) -> None:
        """Close the innermost level, as its call returning does."""
        if len(levels) < 2:
            return
        self._align(levels)
        close_level(levels)
        owner = self.owners.pop() if self.owners else None
        if owner is not None and owner.gate is not None:
            owner.gate.close()

    def leave(self, levels: list[Level], frame: FrameType) -> None:
        """`frame` is left for good: close its level if it owns the innermost one."""
        self._align(levels)
        top = self.owners[-1] if self.owners else None
        if top is not None and top.frame is frame:
            self.close(levels)

    def bind_resumed(self, frame: FrameType, gate: _frames.Gate | None) -> None:
        """A decorated frame rebuilt by a resume owns the next restored level."""
        if not self.unbound:
            return
        index = len(self.owners) - self.unbound
        self.owners[index] = _Owner(frame, gate)
        self.unbound -= 1
        if gate is not None:
            gate.open()

    def release(self) -> None:
        """The turn is over (its frames paused or gone): close every gate held open."""
        for owner in self.owners:
            if owner is not None and owner.gate is not None:
                owner.gate.close()
        self.owners = [None] * len(self.owners)
        self.unbound = 0

    def _align(self, levels: list[Level]) -> None:
        """Keep one owner per level above level 0: levels that were there before (a memory
        given a ``turn_stack``) are the outermost and have none; levels closed without
        `close` take their owners with them."""
        missing = len(levels) - 1 - len(self.owners)
        if missing > 0:
            self.owners[:0] = [None] * missing
        elif missing < 0:
            for owner in self.owners[len(levels) - 1 :]:
                if owner is not None and owner.gate is not None:
                    owner.gate.close()
            del self.owners[len(levels) - 1 :]
            self.unbound = min(self.unbound, len(self.owners))
