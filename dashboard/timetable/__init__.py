"""Timetable views: grids by class, teacher or room, unplaced lessons, rule scores, version comparison,
exports and analytics. The logic lives here, free of browser concerns; ``view`` lays it out with Panel."""

from .compare import Change, changes_frame, compare
from .exports import grid_html, to_csv, to_print_html, to_xlsx
from .model import KINDS, Cell, Entry, Grid, Schedule

__all__ = [
    "KINDS",
    "Cell",
    "Change",
    "Entry",
    "Grid",
    "Schedule",
    "changes_frame",
    "compare",
    "grid_html",
    "to_csv",
    "to_print_html",
    "to_xlsx",
]
