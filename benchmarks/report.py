"""The one table the suite prints, and the machine it ran on."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field


@dataclass
class Figure:
    """One row of the table. ``ratio`` is value / baseline, oriented so that higher is better."""

    case: str
    figure: str
    value: float | None
    unit: str = ""
    baseline: float | None = None
    baseline_label: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None  # None: no target (information only)
    note: str = ""
    extra: dict = field(default_factory=dict)

    @staticmethod
    def from_dict(data: dict) -> Figure:
        return Figure(**data)

    def to_dict(self) -> dict:
        return asdict(self)


def throughput(case: str, figure: str, rows: int, seconds: float, *, baseline_rate: float | None = None,
               baseline_label: str = "", minimum_rate: float | None = None, minimum_ratio: float | None = None,
               unit: str = "rows/s", note: str = "") -> Figure:
    """A rate figure; met when it reaches ``minimum_rate`` and the ratio ``minimum_ratio`` (those given)."""
    rate = rows / seconds if seconds > 0 else float("inf")
    ratio = rate / baseline_rate if baseline_rate else None
    targets, met = [], None
    if minimum_rate is not None:
        targets.append(f">= {minimum_rate:,.0f} {unit}")
        met = rate >= minimum_rate
    if minimum_ratio is not None and ratio is not None:
        targets.append(f">= {minimum_ratio:g}x baseline")
        met = (met is not False) and ratio >= minimum_ratio
    return Figure(case, figure, rate, unit, baseline_rate, baseline_label, ratio, ", ".join(targets), met,
                  note or f"{rows:,} rows in {seconds:.2f} s")


# --- rendering -------------------------------------------------------------------------------------


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit in ("s", "ms"):
        return f"{value:,.2f} {unit}" if value < 100 else f"{value:,.0f} {unit}"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:,.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def _ratio(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}x" if value >= 100 else f"{value:.2f}x"


def _met(value: bool | None) -> str:
    return {True: "yes", False: "NO", None: ""}[value]


def table(figures: list[Figure], markdown: bool = False) -> str:
    header = ["case", "figure", "value", "baseline", "ratio", "target", "met?"]
    rows = []
    for f in figures:
        baseline = _number(f.baseline, f.unit) + (f" ({f.baseline_label})" if f.baseline_label and f.baseline is not None else "")
        rows.append([f.case, f.figure, _number(f.value, f.unit), baseline, _ratio(f.ratio), f.target, _met(f.met)])
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    def line(cells):
        return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def notes(figures: list[Figure]) -> list[str]:
    return [f"{f.case} / {f.figure}: {f.note}" for f in figures if f.note]


# --- the machine -----------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    from importlib import metadata

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "-"

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    memory = "-"
    try:
        memory = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB"
    except (ValueError, OSError, AttributeError):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    packages = ["dagster", "pandas", "pyarrow", "pandera", "duckdb", "psycopg", "sqlalchemy", "statsmodels", "prophet"]
    return {
        "cpu": cpu,
        "cores": f"{usable} usable of {os.cpu_count()}",
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "postgresql": _postgres_version(),
        "packages": ", ".join(f"{p} {version(p)}" for p in packages),
    }


def _postgres_version() -> str:
    try:
        import psycopg

        from benchmarks.common import POSTGRES_URL

        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as connection:
            return str(connection.execute("SHOW server_version").fetchone()[0])
    except Exception:  # noqa: BLE001 - shown as "-" when there is no server
        return "-"


def machine_lines(info: dict[str, str]) -> list[str]:
    return [f"{key}: {value}" for key, value in info.items()]


def dump(figures: list[Figure]) -> str:
    return json.dumps([f.to_dict() for f in figures])


def load(text: str) -> list[Figure]:
    return [Figure.from_dict(item) for item in json.loads(text)]


def text_table(header: list[str], body: list[list[str]], markdown: bool = False) -> str:
    """A wide table of strings: Markdown (for RESULTS.md) or aligned columns (for a terminal)."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body])
    widths = [max(len(cell) for cell in column) for column in zip(header, *body)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                     for row in [header, ["-" * w for w in widths], *body])
