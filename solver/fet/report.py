"""The import report: every FET constraint type in the file, how many, hard or soft, imported or not."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TypeCount:
    """One FET constraint type in one file."""

    fet_type: str
    hard: int = 0
    soft: int = 0
    inactive: int = 0
    imported: int = 0
    unsupported: int = 0
    unsupported_hard: int = 0
    reasons: list[str] = field(default_factory=list)

    @property
    def active(self) -> int:
        return self.hard + self.soft

    @property
    def status(self) -> str:
        if self.active == 0:
            return "inactive"
        if self.unsupported == 0:
            return "imported"
        return "unsupported" if self.imported == 0 else "partly imported"


@dataclass
class ImportReport:
    source: str
    fet_version: str = ""
    types: dict[str, TypeCount] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def count(self, fet_type: str, hard: bool, outcome: str, reason: str = "") -> None:
        """Record one constraint: ``outcome`` is "imported", "unsupported" or "inactive"."""
        t = self.types.setdefault(fet_type, TypeCount(fet_type))
        if outcome == "inactive":
            t.inactive += 1
            return
        if hard:
            t.hard += 1
        else:
            t.soft += 1
        if outcome == "imported":
            t.imported += 1
            return
        t.unsupported += 1
        if hard:
            t.unsupported_hard += 1
        if reason and len(t.reasons) < 3 and reason not in t.reasons:
            t.reasons.append(reason)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    @property
    def unsupported_hard(self) -> list[TypeCount]:
        return [t for t in self.types.values() if t.unsupported_hard]

    @property
    def unsupported(self) -> list[TypeCount]:
        return [t for t in self.types.values() if t.unsupported]

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "fet_version": self.fet_version,
            "types": [
                {
                    "type": t.fet_type,
                    "hard": t.hard,
                    "soft": t.soft,
                    "inactive": t.inactive,
                    "imported": t.imported,
                    "unsupported": t.unsupported,
                    "unsupported_hard": t.unsupported_hard,
                    "status": t.status,
                    "reasons": list(t.reasons),
                }
                for t in self.types.values()
            ],
            "notes": list(self.notes),
            "unsupported_hard": [t.fet_type for t in self.unsupported_hard],
        }

    @classmethod
    def from_dict(cls, data: dict) -> ImportReport:
        report = cls(source=data.get("source", ""), fet_version=data.get("fet_version", ""))
        for row in data.get("types", []):
            report.types[row["type"]] = TypeCount(
                fet_type=row["type"],
                hard=row["hard"],
                soft=row["soft"],
                inactive=row["inactive"],
                imported=row["imported"],
                unsupported=row["unsupported"],
                unsupported_hard=row["unsupported_hard"],
                reasons=list(row.get("reasons", [])),
            )
        report.notes = list(data.get("notes", []))
        return report

    def text(self) -> str:
        """The report as a table for people."""
        rows = sorted(self.types.values(), key=lambda t: (t.status != "unsupported", -t.active, t.fet_type))
        width = max([len("FET constraint type"), *(len(t.fet_type) for t in rows)])
        lines = [f"Import report for {self.source} (FET {self.fet_version or 'unknown version'})", ""]
        lines.append(f"{'FET constraint type':<{width}}  count  hard  soft  inactive  status")
        for t in rows:
            status = t.status
            if t.reasons:
                status += f" ({'; '.join(t.reasons)})"
            lines.append(
                f"{t.fet_type:<{width}}  {t.active:>5}  {t.hard:>4}  {t.soft:>4}  {t.inactive:>8}  {status}"
            )
        hard = self.unsupported_hard
        lines.append("")
        if hard:
            names = ", ".join(f"{t.fet_type} ({t.unsupported_hard})" for t in hard)
            lines.append(
                f"WARNING: {sum(t.unsupported_hard for t in hard)} hard (100%) constraint(s) are not supported: "
                f"{names}. A timetable made from this import may violate them."
            )
        else:
            lines.append("Every hard (100%) constraint in the file is imported.")
        soft = [t for t in self.unsupported if t.unsupported > t.unsupported_hard]
        if soft:
            lines.append(
                "Soft constraints not imported, so not optimised: "
                + ", ".join(f"{t.fet_type} ({t.unsupported - t.unsupported_hard})" for t in soft)
                + "."
            )
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)
