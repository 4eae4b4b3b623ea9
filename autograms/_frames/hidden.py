"""Names of the hidden locals the rewrite adds that other phases read (see instrument.py's
table of hidden locals; kept apart so that pausing and resuming need not load the rewrite)."""

from __future__ import annotations

from typing import Final

#: The frame's cell objects, so closures stay shared after resume.
CELLS: Final = "__ag_cells"
#: Not a local: saved with the innermost frame, what the plain helpers above it return.
HELPER_RESULT: Final = "__ag_result"
#: In the twin, between its resume entry and the resume stub: what continues the paused call.
RESUME_CALL: Final = "__ag_call"
#: Placeholder patched into the cell slot of a variable (twin, 3.11/3.12).
CELL_SLOT_PREFIX: Final = "__ag_cellslot_"
