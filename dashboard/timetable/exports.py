"""Exports of a version: CSV (every placed block), XLSX (one sheet per class, teacher or room) and a
printable HTML page with one printed page per class, teacher or room."""

from __future__ import annotations

import html
import io
import re

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from .model import Grid, Schedule, ink

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def to_csv(schedule: Schedule) -> str:
    """Every placed block as one CSV row: day, period, length, subject, teachers, groups, classes, room."""
    return schedule.placements_frame().to_csv(index=False)


def grids(schedule: Schedule, kind: str, ids: list[str] | None = None) -> list[Grid]:
    """The grids of ``ids`` (default: every class, teacher or room of ``kind``), in the school's order."""
    return [schedule.grid(kind, id) for id in (ids if ids is not None else list(schedule.items(kind)))]


def sheet_title(name: str, taken: set[str]) -> str:
    """An Excel sheet name for ``name``: without the characters Excel refuses, 31 characters, unique."""
    base = _SHEET_FORBIDDEN.sub("-", name).strip("'") or "sheet"
    title = base[:31]
    n = 2
    while title.lower() in taken:
        suffix = f" ({n})"
        title = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(title.lower())
    return title


def to_xlsx(schedule: Schedule, kind: str = "class", ids: list[str] | None = None) -> bytes:
    """A workbook with one sheet per class, teacher or room: days down, periods across, coloured by subject.

    Each cell holds subject, teachers, groups and room on separate lines, as a printed timetable would.
    """
    wb = Workbook()
    wb.remove(wb.active)
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    head_font = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    center = Alignment(horizontal="center", vertical="center")
    break_fill = PatternFill("solid", fgColor="DDDDDD")
    fills: dict[str, PatternFill] = {}
    taken: set[str] = set()
    for grid in grids(schedule, kind, ids):
        ws = wb.create_sheet(sheet_title(grid.title, taken))
        ws.append([f"{schedule.name}: {grid.kind} {grid.title}"])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append(["", *grid.periods])
        for col in range(1, len(grid.periods) + 2):
            ws.cell(row=2, column=col).font = head_font
            ws.cell(row=2, column=col).alignment = center
        for d, day in enumerate(grid.days):
            row = 3 + d
            ws.cell(row=row, column=1, value=day).font = head_font
            for p in range(len(grid.periods)):
                cell = ws.cell(row=row, column=2 + p)
                cell.border = border
                cell.alignment = wrap
                if (d, p) in grid.breaks:
                    cell.value = "break"
                    cell.fill = break_fill
                    continue
                entries = grid.at(d, p)
                if not entries:
                    continue
                cell.value = "\n\n".join(
                    "\n".join(
                        x for x in (c.subject_name, ", ".join(c.teachers), ", ".join(c.groups), c.room) if x
                    )
                    for c in entries
                )
                color = entries[0].color.lstrip("#").upper()
                if re.fullmatch(r"[0-9A-F]{6}", color):
                    cell.fill = fills.setdefault(color, PatternFill("solid", fgColor=color))
            ws.row_dimensions[row].height = 64
        ws.column_dimensions["A"].width = 12
        for p in range(len(grid.periods)):
            ws.column_dimensions[get_column_letter(2 + p)].width = 18
        ws.freeze_panes = "B3"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth = 1
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    if not wb.sheetnames:
        wb.create_sheet("empty")["A1"] = f"No {kind} in school '{schedule.school.name}'."
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


GRID_CSS = """
.tt-grid { border-collapse: collapse; font: 12px/1.25 system-ui, sans-serif; width: 100%; table-layout: fixed; }
.tt-grid th, .tt-grid td { border: 1px solid #9aa; padding: 3px 4px; vertical-align: top; }
.tt-grid th { background: #f1f3f5; font-weight: 600; }
.tt-grid th.tt-day { width: 7em; text-align: left; }
.tt-grid td.tt-break { background: repeating-linear-gradient(45deg, #eee, #eee 4px, #ddd 4px, #ddd 8px);
  color: #777; text-align: center; font-style: italic; }
.tt-entry { border-radius: 3px; padding: 2px 3px; margin: 1px 0; }
.tt-entry.tt-cont { opacity: .75; }
.tt-subject { font-weight: 600; }
.tt-who, .tt-room { font-size: 11px; }
.tt-entry.tt-changed { outline: 3px dashed #c1121f; outline-offset: -1px; }
.tt-change { font-size: 10px; font-style: italic; }
"""

PRINT_CSS = """
@page { size: A4 landscape; margin: 12mm; }
body { margin: 0; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.tt-page { break-after: page; page-break-after: always; padding: 8px; }
.tt-page:last-child { break-after: auto; page-break-after: auto; }
.tt-page h1 { font: 600 18px system-ui, sans-serif; margin: 0 0 8px; }
.tt-page .tt-sub { font: 12px system-ui, sans-serif; color: #555; margin: 0 0 8px; }
@media print {
  /* A week must fit one landscape page: smaller type, and who and where share a line. */
  .tt-page { padding: 0; }
  .tt-grid { font-size: 9px; line-height: 1.15; }
  .tt-grid th, .tt-grid td { padding: 1px 2px; }
  .tt-entry { padding: 1px 2px; margin: 0 0 1px; }
  .tt-who, .tt-room { font-size: 8px; display: inline; }
  .tt-who + .tt-room::before { content: " · "; }
}
"""


def grid_html(grid: Grid, marks: dict[tuple[str, int], str] | None = None) -> str:
    """The grid as an HTML table; each entry carries ``data-lesson`` and ``data-slot`` for checks and tests.

    ``marks`` outlines the blocks that changed since another version, with what changed as a tooltip.
    """
    esc = html.escape
    marks = marks or {}
    out = [f'<table class="tt-grid" data-kind="{esc(grid.kind)}" data-id="{esc(grid.id)}">']
    out.append("<thead><tr><th class='tt-day'></th>")
    out.extend(f"<th>{esc(p)}</th>" for p in grid.periods)
    out.append("</tr></thead><tbody>")
    for d, day in enumerate(grid.days):
        out.append(f"<tr><th class='tt-day'>{esc(day)}</th>")
        for p in range(len(grid.periods)):
            if (d, p) in grid.breaks:
                out.append("<td class='tt-break'>break</td>")
                continue
            out.append("<td>")
            for c in grid.at(d, p):
                cls = "tt-entry" if c.first else "tt-entry tt-cont"
                title = c.text()
                change = marks.get((c.lesson, c.block))
                if change:
                    cls += " tt-changed"
                    title += f" ({change})"
                out.append(
                    f'<div class="{cls}" style="background:{esc(c.color)};color:{ink(c.color)}" '
                    f'data-lesson="{esc(c.lesson)}" data-block="{c.block}" data-slot="{d},{p}" '
                    f'title="{esc(title)}"><div class="tt-subject">{esc(c.subject_name)}</div>'
                )
                who = [x for x in (", ".join(c.teachers), ", ".join(c.groups)) if x]
                if who:
                    out.append(f'<div class="tt-who">{esc(" · ".join(who))}</div>')
                if c.room:
                    out.append(f'<div class="tt-room">{esc(c.room)}</div>')
                if change and c.first:
                    out.append(f'<div class="tt-change">{esc(change)}</div>')
                out.append("</div>")
            out.append("</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def to_print_html(schedule: Schedule, kind: str = "class", ids: list[str] | None = None) -> str:
    """A standalone HTML document with one printed page (CSS page breaks) per class, teacher or room."""
    esc = html.escape
    pages = []
    for grid in grids(schedule, kind, ids):
        pages.append(
            f'<section class="tt-page"><h1>{esc(grid.title)}</h1>'
            f'<p class="tt-sub">{esc(schedule.name)} · {esc(grid.kind)}</p>{grid_html(grid)}</section>'
        )
    title = esc(f"{schedule.name}: timetables by {kind}")
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{GRID_CSS}{PRINT_CSS}</style></head><body>{''.join(pages)}</body></html>"
    )
