"""Process checks shared by the job ledger and the API's ETL launcher (no Spark import)."""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """Tell whether a process with ``pid`` exists on this host (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
