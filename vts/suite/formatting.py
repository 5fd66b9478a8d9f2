"""Numbers formatted once for every output: the report's HTML, Markdown and terminal tables
and the gate's text agree to the character.

Rule: a missing or non-finite figure is shown as DASH, never as 0.
"""

from __future__ import annotations

import math
import os

DASH = "\u2013"  # an en dash: "not measured"


def fmt_ns(ns: float | None) -> str:
    """A time per op with a unit chosen for it: '40.0 ns', '5.702 µs'."""
    if ns is None or not math.isfinite(ns):
        return DASH
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if abs(ns) >= scale:
            return f"{ns / scale:.3f} {unit}"
    return f"{ns:.1f} ns"


def fmt_count(value: float | None) -> str:
    """A count per op with at most two decimals and no trailing zeros: '22.2', '0', '1,024'."""
    if value is None or not math.isfinite(value):
        return DASH
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def fmt_signed(value: float | None) -> str:
    """A difference with its sign: '+2', '-0.2', '0'."""
    text = fmt_count(value)
    if value is None or text in ("0", DASH) or text.startswith("-"):
        return text
    return "+" + text


def fmt_ratio(value: float | None) -> str:
    return DASH if value is None or not math.isfinite(value) else f"{value:.2f}"


def fmt_instructions(value: float | None) -> str:
    """Instructions per op: whole numbers with thousands separators (a count, not a time)."""
    return DASH if value is None or not math.isfinite(value) else f"{value:,.0f}"


def fmt_bytes(value: float | None) -> str:
    return DASH if value is None or not math.isfinite(value) else f"{value:,.0f} B"


def fmt_path(path: str | os.PathLike[str]) -> str:
    """A path as a report shows it: relative to the working directory, so a report carries
    no machine's absolute paths ('reports/baseline.json', '../other/results.json')."""
    return os.path.relpath(path)


def fmt_pct(value: float | None) -> str:
    return DASH if value is None or not math.isfinite(value) else f"{value:+.1%}"
