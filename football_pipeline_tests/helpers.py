"""Building bad inputs from real files: every mangled file starts as real bundled bytes."""

from __future__ import annotations

from pathlib import Path

from football_pipeline.settings import BUNDLED_DATA_DIR

E0_2223 = "football-data/E0/2223.csv"
EPL_2022 = "understat/EPL/2022.json"


def real_lines(relative: str = E0_2223) -> list[str]:
    """The file's lines, line endings kept (index 0 = header = line 1)."""
    return (BUNDLED_DATA_DIR / relative).read_bytes().decode("utf-8-sig").splitlines(keepends=True)


def set_cell(line: str, header: str, column: str, value: str) -> str:
    names = header.rstrip("\r\n").split(",")
    ending = line[len(line.rstrip("\r\n")):]
    cells = line.rstrip("\r\n").split(",")
    cells[names.index(column)] = value
    return ",".join(cells) + ending


def cell(line: str, header: str, column: str) -> str:
    return line.rstrip("\r\n").split(",")[header.rstrip("\r\n").split(",").index(column)]


def write(path: Path, lines: list[str] | str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(lines, bytes):
        path.write_bytes(lines)
    else:
        path.write_bytes(("".join(lines) if isinstance(lines, list) else lines).encode("utf-8"))
    return path
