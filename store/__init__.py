"""The only code that speaks MongoDB: schools, their data and timetable versions, through pymongo.

```python
from store import open_store
store = open_store()          # MONGODB_URI / MONGODB_DB, or the embedded nx-27017 server in ./data
school_id = store.import_school(school)
store.save_version(school_id, "Week A", timetable)
```
"""

from .api import KINDS, Store, open_store
from .errors import NotFoundError, ReferencedError, StoreError, UnavailableError, ValidationError

__all__ = [
    "KINDS",
    "NotFoundError",
    "ReferencedError",
    "Store",
    "StoreError",
    "UnavailableError",
    "ValidationError",
    "open_store",
]
