"""learner_snapshots: one row per pseudonymous learner and period.

Seed 003 analytics_user_snapshots.

    python -m jobs.learner_snapshots --start 2025-01-01 --end 2025-01-31 [--tenant UUID]

Released at ``anonymized`` only, for one closed calendar month: learner-level rows are
pseudonymous personal data (k-anonymous over tenant, age band, grade band and IEP
status) and are never released at a DP level.

How each metric is computed and protected: see jobs/transforms/learner_snapshots.py.
"""

from __future__ import annotations

from jobs.cli import job_entry_point
from jobs.contracts.curated import LEARNER_SNAPSHOTS
from jobs.release import CuratedJob
from jobs.transforms.learner_snapshots import learner_snapshots

JOB = CuratedJob(LEARNER_SNAPSHOTS, learner_snapshots, dp_release=False)

main = job_entry_point(JOB, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
