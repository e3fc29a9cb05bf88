"""Schemas for the files MMStudio reads, checked before anything is allocated (standard library).

A file is first parsed with bounds (:func:`read_json`, :func:`parse_json`): its size, nesting
depth and the length of every number are limited, so a hostile file cannot exhaust memory, the
recursion limit or CPU time in the parser. The parsed value is then checked against a small
declarative schema (:class:`Map`, :class:`Int`, ...): types, ranges, lengths and versions. A
failure is a :class:`~mmstudio.errors.SchemaError` naming the dotted field; loaders turn it into a
:class:`~mmstudio.errors.LoadError` naming their file. The schemas of each file live with its
loader; this module only knows how to check.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mmstudio.errors import LoadError, SchemaError

MAX_DEPTH = 32  # nesting of JSON/TOML values; ours need 6
MAX_NUMBER_CHARS = 40  # digits of one number: int64 needs 19, a float's repr 24
MAX_STRING = 65536  # characters of one string unless a schema says otherwise


class _Refused(Exception):
    """Raised inside json's hooks to stop parsing at once."""


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number with {len(text):,} digits")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number with {len(text):,} characters")
    return float(text)


def parse_json(text: str, path: str) -> Any:
    """``text`` as JSON, refusing over-long numbers and nesting deeper than :data:`MAX_DEPTH`."""
    try:
        value = json.loads(text, parse_int=_parse_int, parse_float=_parse_float)
    except _Refused as exc:
        raise LoadError(path, f"not a valid file: it holds {exc}") from None
    except RecursionError:
        raise LoadError(path, "not a valid file: JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError is one
        where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise LoadError(path, f"unreadable or truncated (bad JSON{where}: {msg})") from None
    check_depth(value, path)
    return value


def read_text(path: str, max_bytes: int) -> str:
    """A UTF-8 file of at most ``max_bytes``, read without loading a larger one whole."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise LoadError(path, f"cannot read the file ({exc.strerror or exc})") from None
    if len(raw) > max_bytes:
        raise LoadError(path, f"too large (over {max_bytes:,} bytes); not an MMStudio file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(path, f"not UTF-8 text (bad byte at offset {exc.start})") from None
    if "\x00" in text:
        raise LoadError(path, "not a text file (it holds NUL bytes)")
    return text


def read_json(path: str, max_bytes: int = 16 << 20) -> Any:
    """The JSON value in ``path``, bounded as :func:`parse_json` and :func:`read_text` say."""
    return parse_json(read_text(path, max_bytes), path)


def check_depth(value: Any, path: str, limit: int = MAX_DEPTH) -> None:
    """Refuse values nested deeper than ``limit`` (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list, tuple)):
            if depth > limit:
                raise LoadError(path, f"not a valid file: nested deeper than {limit} levels")
            children = node.values() if isinstance(node, dict) else node
            stack.extend((c, depth + 1) for c in children)


# ---------------------------------------------------------------------------------------------
# Schema nodes. ``check(value, where)`` raises SchemaError or returns None.


def _kind(value: Any) -> str:
    return {
        dict: "a table",
        list: "a list",
        str: "text",
        bool: "true/false",
        type(None): "null",
        int: "a whole number",
        float: "a number",
    }.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class Int:
    lo: int = -(2**63)
    hi: int = 2**63 - 1

    def check(self, value: Any, where: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SchemaError(where, f"expected a whole number, got {_kind(value)}")
        if not self.lo <= value <= self.hi:
            raise SchemaError(where, f"{value} is out of range ({self.lo}..{self.hi})")


@dataclass(frozen=True)
class Num:
    lo: float = -math.inf
    hi: float = math.inf
    finite: bool = True

    def check(self, value: Any, where: str) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SchemaError(where, f"expected a number, got {_kind(value)}")
        if math.isnan(value) or math.isinf(value):
            if self.finite:
                raise SchemaError(where, f"expected a finite number, got {value}")
            return
        if not self.lo <= value <= self.hi:
            raise SchemaError(where, f"{value:g} is out of range ({self.lo:g}..{self.hi:g})")


@dataclass(frozen=True)
class Str:
    max_len: int = MAX_STRING
    choices: tuple[str, ...] = ()
    path: bool = False  # a file name: no NUL, not empty

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, str):
            raise SchemaError(where, f"expected text, got {_kind(value)}")
        if len(value) > self.max_len:
            raise SchemaError(where, f"text of {len(value):,} characters (at most {self.max_len:,})")
        if self.choices and value not in self.choices:
            raise SchemaError(where, f"{value[:80]!r} is not one of {', '.join(self.choices)}")
        if self.path and "\x00" in value:
            raise SchemaError(where, "a path with a NUL character")


@dataclass(frozen=True)
class Bool:
    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, bool):
            raise SchemaError(where, f"expected true or false, got {_kind(value)}")


@dataclass(frozen=True)
class Null:
    def check(self, value: Any, where: str) -> None:
        if value is not None:
            raise SchemaError(where, f"expected null, got {_kind(value)}")


@dataclass(frozen=True)
class Anything:
    """Any JSON value (depth is bounded by the parser); for free-form parts such as metrics."""

    def check(self, value: Any, where: str) -> None:
        return None


@dataclass(frozen=True)
class OneOf:
    options: tuple[Any, ...]

    def check(self, value: Any, where: str) -> None:
        for option in self.options:  # a table or list is judged by the one option of its kind
            if (isinstance(option, Map) and isinstance(value, Mapping)) or (
                isinstance(option, List) and isinstance(value, (list, tuple))
            ):
                option.check(value, where)
                return
        errors = []
        for option in self.options:
            try:
                option.check(value, where)
                return
            except SchemaError as exc:
                if not (isinstance(option, Null) and value is not None):  # "or null" says nothing
                    errors.append(exc)
        if len(errors) == 1:
            raise errors[0]  # keeps the inner field, e.g. tokenizer.vocab[0]
        wanted = [e.problem.split(", got ")[0].removeprefix("expected ") for e in errors]
        raise SchemaError(where, f"expected {' or '.join(dict.fromkeys(wanted))}, got {_kind(value)}")


@dataclass(frozen=True)
class List:
    item: Any = field(default_factory=Anything)
    max_len: int = 100_000
    min_len: int = 0

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, (list, tuple)):
            raise SchemaError(where, f"expected a list, got {_kind(value)}")
        if not self.min_len <= len(value) <= self.max_len:
            raise SchemaError(
                where, f"a list of {len(value):,} entries (expected {self.min_len:,} to {self.max_len:,})"
            )
        for i, item in enumerate(value):
            self.item.check(item, f"{where}[{i}]")


@dataclass(frozen=True)
class Map:
    """A table with known ``fields``; ``required`` must be present. Keys not listed are allowed
    (checked by ``values``) unless ``closed``, so a newer writer's extra fields still load."""

    fields: Mapping[str, Any] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    values: Any = field(default_factory=Anything)
    closed: bool = False
    max_keys: int = 10_000

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, Mapping):
            raise SchemaError(where, f"expected a table, got {_kind(value)}")
        if len(value) > self.max_keys:
            raise SchemaError(where, f"a table of {len(value):,} keys (at most {self.max_keys:,})")
        for key in self.required:
            if key not in value:
                raise SchemaError(_join(where, key), "missing")
        for key, item in value.items():
            spec = self.fields.get(key)
            if spec is None and self.closed:
                raise SchemaError(_join(where, str(key)[:80]), "unknown key")
            (spec or self.values).check(item, _join(where, str(key)[:80]))


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def check(value: Any, schema: Any, path: str) -> Any:
    """``value`` when it fits ``schema``; else a :class:`LoadError` naming ``path`` and the field."""
    try:
        schema.check(value, "")
    except SchemaError as exc:
        raise exc.in_file(path) from None
    return value


def version(value: Any, field_name: str, newest: int) -> int:
    """A schema version: a whole number from 1 to ``newest``; a newer one is refused by name."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SchemaError(field_name, f"{str(value)[:40]!r} is not a version (expected a whole number from 1)")
    if value > newest:
        raise SchemaError(field_name, f"written by a newer MMStudio (version {value}); this one reads up to {newest}")
    return value
