"""Timetables: the versions of the school with their statistics, and each version as grids by class,
teacher or room, unplaced lessons, soft-rule scores, a comparison with another version, exports and
charts. The view model and its logic live in ``dashboard.timetable``; this page only names it."""

from __future__ import annotations

from ..timetable.view import TimetableView


class TimetablesPage(TimetableView):
    """The Timetables page: takes the session's ``AppState`` like every other page."""
