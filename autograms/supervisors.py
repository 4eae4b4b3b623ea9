"""Supervisors: a helper's answer supplied by a function of yours instead of the model, in
supervisor mode (``Autogram(..., supervisor_mode=True)``), for simulations whose transcripts
train or distil a model.

    def formal(instruction):
        return SupervisorReturn(silent_thought(f"{instruction} Be formal."),
                                rejected_output=silent_thought(f"{instruction} Be casual."))

    reply_instruction("Greet the user.", supervisor=formal)

Every model helper accepts ``supervisor=`` and ``supervisor_kwargs=``. How a call is supervised
is described in ``autograms._supervision``; the AutoGRAMS import path is this module.
"""

from ._errors import SupervisorError
from ._supervision import SupervisorReturn, supervisable

__all__ = ["SupervisorError", "SupervisorReturn", "supervisable"]
