"""Analytics of a version: teacher load per day, gaps per teacher and per class, subject spread.

The numbers are plain DataFrames (tested without a browser); ``analytics_figures`` draws them with bokeh.
A gap is a free teaching period between the first and last lesson of a day; breaks are not gaps.
Students' gaps are counted per subgroup, as the rules do, and a class shows its worst subgroup.
"""

from __future__ import annotations

import pandas as pd
from bokeh.models import ColumnDataSource, HoverTool, LinearColorMapper
from bokeh.plotting import figure

from solver.domain import Slot

from .model import Schedule

_BLUES = ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")


def _gaps(occupied: set[Slot], breaks: frozenset[Slot], n_days: int) -> int:
    total = 0
    for d in range(n_days):
        periods = sorted(p for dd, p in occupied if dd == d)
        if periods:
            total += sum(
                1
                for p in range(periods[0], periods[-1] + 1)
                if (d, p) not in occupied and (d, p) not in breaks
            )
    return total


def teacher_load(schedule: Schedule) -> pd.DataFrame:
    """Periods each teacher teaches on each day: one row per teacher (by name), one column per day."""
    cal = schedule.school.calendar
    load = {t.id: [0] * cal.n_days for t in schedule.school.teachers}
    for e in schedule.entries:
        for t in e.teachers:
            load.setdefault(t, [0] * cal.n_days)[e.slot[0]] += e.length
    return pd.DataFrame(
        list(load.values()), index=[schedule.label("teacher", t) for t in load], columns=list(cal.days)
    )


def teacher_gaps(schedule: Schedule) -> pd.DataFrame:
    """Gaps per teacher over the week, with the periods taught, most gaps first."""
    cal = schedule.school.calendar
    occupied: dict[str, set[Slot]] = {t.id: set() for t in schedule.school.teachers}
    for e in schedule.entries:
        for t in e.teachers:
            occupied.setdefault(t, set()).update(e.periods())
    breaks = frozenset(cal.breaks)
    rows = [
        {"teacher": schedule.label("teacher", t), "gaps": _gaps(s, breaks, cal.n_days), "periods": len(s)}
        for t, s in occupied.items()
    ]
    frame = pd.DataFrame(rows, columns=["teacher", "gaps", "periods"])
    return frame.sort_values("gaps", ascending=False, kind="stable").reset_index(drop=True)


def class_gaps(schedule: Schedule) -> pd.DataFrame:
    """Gaps per class over the week, counted for each of its subgroups; the class shows the worst one."""
    school = schedule.school
    cal = school.calendar
    breaks = frozenset(cal.breaks)
    occupied: dict[str, set[Slot]] = {s: set() for s in school.all_subgroups()}
    for e in schedule.entries:
        for g in e.groups:
            for s in school.subgroups_of.get(g, ()):
                occupied.setdefault(s, set()).update(e.periods())
    rows = []
    for c in school.classes:
        counts = [
            _gaps(occupied.get(s, set()), breaks, cal.n_days) for s in school.subgroups_of.get(c.id, ())
        ]
        rows.append({"class": c.name, "gaps": max(counts, default=0), "subgroups": len(counts)})
    frame = pd.DataFrame(rows, columns=["class", "gaps", "subgroups"])
    return frame.sort_values("gaps", ascending=False, kind="stable").reset_index(drop=True)


def subject_spread(schedule: Schedule) -> pd.DataFrame:
    """How evenly each subject is spread over the week.

    For every subject: the blocks placed, and ``same day``, the blocks that fall on a day on which the
    same class or group already has that subject (the quantity the subject-spread rule penalises).
    """
    seen: dict[tuple[str, str, int], int] = {}
    for e in schedule.entries:
        for g in e.groups:
            key = (e.subject, g, e.slot[0])
            seen[key] = seen.get(key, 0) + 1
    rows: dict[str, dict] = {}
    for (subject, _group, _day), n in seen.items():
        row = rows.setdefault(
            subject, {"subject": schedule.label("subject", subject), "blocks": 0, "same day": 0}
        )
        row["blocks"] += n
        row["same day"] += n - 1
    frame = pd.DataFrame(list(rows.values()), columns=["subject", "blocks", "same day"])
    return frame.sort_values(["same day", "subject"], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )


def _bars(frame: pd.DataFrame, label: str, value: str, title: str, color: str):
    top = frame.head(40)
    source = ColumnDataSource({"name": list(top[label]), "value": list(top[value])})
    names = list(reversed(list(top[label]))) or [""]
    fig = figure(
        y_range=names,
        height=max(160, 14 * len(names) + 60),
        width=420,
        title=title,
        toolbar_location=None,
        tools="",
    )
    fig.hbar(y="name", right="value", height=0.7, source=source, color=color)
    fig.add_tools(HoverTool(tooltips=[(label, "@name"), (value, "@value")]))
    fig.x_range.start = 0
    fig.ygrid.grid_line_color = None
    return fig


def subject_days(schedule: Schedule) -> pd.DataFrame:
    """Blocks of each subject on each day, over all classes: one row per subject, one column per day."""
    cal = schedule.school.calendar
    counts: dict[str, list[int]] = {}
    for e in schedule.entries:
        counts.setdefault(e.subject, [0] * cal.n_days)[e.slot[0]] += 1
    order = sorted(counts, key=lambda s: schedule.label("subject", s).lower())
    return pd.DataFrame(
        [counts[s] for s in order],
        index=[schedule.label("subject", s) for s in order],
        columns=list(cal.days),
    )


def _heatmap(frame: pd.DataFrame, what: str, value: str, title: str):
    """Rows of ``frame`` down, its columns (days) across, cells shaded by value."""
    days = list(frame.columns)
    rows = list(frame.index)
    long = frame.stack().reset_index()
    long.columns = [what, "day", value]
    # A dict, not the DataFrame: bokeh's DataFrame path resets the index in place, which pandas deprecates.
    source = ColumnDataSource({c: list(long[c]) for c in long.columns})
    high = max(1, int(long[value].max())) if len(long) else 1
    mapper = LinearColorMapper(palette=_BLUES, low=0, high=high)
    fig = figure(
        x_range=days,
        y_range=list(reversed(rows)) or [""],
        width=420,
        height=max(200, 14 * len(rows) + 80),
        title=title,
        toolbar_location=None,
        tools="",
        x_axis_location="above",
    )
    fig.rect(
        x="day",
        y=what,
        width=1,
        height=1,
        source=source,
        fill_color={"field": value, "transform": mapper},
        line_color="white",
    )
    fig.add_tools(HoverTool(tooltips=[(what, f"@{{{what}}}"), ("day", "@day"), (value, f"@{{{value}}}")]))
    fig.grid.grid_line_color = None
    fig.xaxis.major_label_orientation = 0.7
    return fig


def analytics_figures(schedule: Schedule) -> dict:
    """Bokeh figures: teacher load heatmap, gaps per teacher, gaps per class, subject spread."""
    repeats = int(subject_spread(schedule)["same day"].sum())
    return {
        "load": _heatmap(teacher_load(schedule), "teacher", "periods", "Teacher load (periods per day)"),
        "teacher_gaps": _bars(
            teacher_gaps(schedule), "teacher", "gaps", "Gaps per teacher (week)", "#e76f51"
        ),
        "class_gaps": _bars(
            class_gaps(schedule), "class", "gaps", "Gaps per class (worst subgroup)", "#2a9d8f"
        ),
        "spread": _heatmap(
            subject_days(schedule),
            "subject",
            "blocks",
            f"Subject spread: blocks per day ({repeats} same-day repeat{'s' if repeats != 1 else ''})",
        ),
    }
