"""Manifests saved in a legacy encoding (Latin-1, Windows-1252, Shift-JIS...): detected and decoded
with charset-normalizer, with a warning naming the encoding, instead of loading nothing.

UTF-8 (with or without a BOM) is tried first and wins whenever it decodes. Detection looks at the
first megabyte; the rest is decoded with the same encoding, any undecodable byte replaced (and
said so). Among encodings the detector scores alike, Windows-1252 is preferred: it is what
spreadsheet programs on Western systems write, and Latin-1 text reads the same in it.
"""

from __future__ import annotations

SAMPLE = 1 << 20  # bytes the detector looks at
_PREFERRED = ("cp1252", "latin_1")


def decode(raw: bytes) -> tuple[str | None, str | None]:
    """``(text, encoding)``: ``encoding`` is None for UTF-8; ``text`` is None when the bytes are
    not text in any encoding the detector trusts."""
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    encoding = detect(raw[:SAMPLE])
    if encoding is None:
        return None, None
    return raw.decode(encoding, errors="replace"), encoding


def detect(sample: bytes) -> str | None:
    """The encoding of ``sample`` (Python's codec name), or None when it does not look like text."""
    if b"\x00" in sample and not sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None  # binary (UTF-16 aside, which starts with its byte-order mark)
    from charset_normalizer import from_bytes

    matches = from_bytes(sample)
    best = matches.best()
    if best is None:
        return None
    # the detector is unsure on short, repetitive text: within a small margin, prefer cp1252
    near = [m for m in matches if m.chaos <= best.chaos + 0.05 and m.coherence >= best.coherence - 0.05]
    for name in _PREFERRED:  # also when it decodes the sample exactly as the detector's pick
        if any(name == m.encoding or name in m.could_be_from_charset for m in near):
            return name
    return best.encoding


def warning(encoding: str, raw: bytes) -> str:
    """The message that goes with a file read in ``encoding`` (``raw``: its first bytes)."""
    try:
        raw.decode("utf-8-sig")
        where = ""
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        where = f" (first at line {line})"
    return (
        f"manifest is not UTF-8{where}: read as {encoding} (detected); check accents and "
        "special characters, or save it as UTF-8"
    )
