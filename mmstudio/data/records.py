"""Raw records: one candidate item before its files are checked, and what a layout found.

A record names files (not yet checked) and where it came from, so every later problem can name
the file and row.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmstudio.data.items import Problem


@dataclass
class Record:
    """One candidate item before its files are checked."""

    id: str
    source: str  # the file this record came from (a manifest or a media file)
    image: str | None = None
    audio: str | None = None
    text: str | None = None  # inline text
    text_path: str | None = None  # a .txt file to read
    label: str | None = None
    split: str | None = None
    target: str | None = None  # a number to predict, as written
    row: int | None = None


@dataclass
class Layout:
    """Raw records plus what the layout found out along the way."""

    name: str
    root: str
    records: list[Record]
    problems: list[Problem]
    columns: dict[str, str]
    column_names: list[str]
