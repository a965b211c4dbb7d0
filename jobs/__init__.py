"""Background solve jobs whose state lives in the store (see ``jobs.manager``).

```python
from jobs import JobManager
jm = JobManager(store)                     # one per server process
job_id = jm.start(school_id, "Week A", {"time_limit": 300, "strict_balancing": True})
jm.get(job_id)["progress"]                 # read by any process, any time
```
"""

from store.jobs import (
    CANCELLED,
    COMPLETED,
    FAILED,
    INTERRUPTED,
    QUEUED,
    RUNNING,
    SAVE_FAILED,
    SAVING,
    STATUSES,
    UNFINISHED,
)

from .manager import FINISHED, MAX_TIME_LIMIT, MIN_TIME_LIMIT, JobError, JobManager, default_workers

__all__ = [
    "CANCELLED",
    "COMPLETED",
    "FAILED",
    "FINISHED",
    "INTERRUPTED",
    "MAX_TIME_LIMIT",
    "MIN_TIME_LIMIT",
    "QUEUED",
    "RUNNING",
    "SAVE_FAILED",
    "SAVING",
    "STATUSES",
    "UNFINISHED",
    "JobError",
    "JobManager",
    "default_workers",
]
