"""FET (https://lalescu.ro/liviu/fet/) files: import into a School, lock a timetable back, verify with fet-cl."""

from .importer import import_fet, import_report
from .report import ImportReport
from .xmlread import FetError

__all__ = ["FetError", "ImportReport", "import_fet", "import_report"]
