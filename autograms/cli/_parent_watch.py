"""A worker process that does not outlive the process that started it.

``autograms serve --workers N`` runs N worker processes under a supervising one. If the
supervisor is killed with SIGKILL (the OOM killer, ``kill -9``), nothing tells its workers:
they would serve on as orphans, holding the port, and a restarted service could not bind
it. On Linux a worker asks the kernel (``prctl(PR_SET_PDEATHSIG)``) for a signal when its
parent dies: SIGTERM, so that it drains as on any stop. Elsewhere nothing is arranged.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys

logger = logging.getLogger("autograms.serve")

#: prctl's option number for "send me this signal when my parent dies" (linux/prctl.h)
PR_SET_PDEATHSIG = 1


def stop_with_parent(parent_pid: int, signum: int = signal.SIGTERM) -> bool:
    """Have `signum` sent to this process when its parent (`parent_pid`) dies; if it has
    died already, send it now. False where this cannot be arranged (not Linux, no libc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        failed = libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) != 0
    except (OSError, AttributeError):
        failed = True
    if failed:
        logger.warning("this worker will not stop by itself if its supervisor is killed")
        return False
    # the parent may have died before the request: the kernel then sends nothing
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signum)
    return True
