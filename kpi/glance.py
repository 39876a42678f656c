"""Small inline SVGs for the month at a glance: a KPI's trend line and the Making Data Count icons.

Pure builders, markup in and out, no data access. A trend line is named for screen readers by every month's
figure as shown (a suppressed or missing month said so, and left as a gap in the line). The icons are drawn
here (a circle with an arrow, a wave, a tick, a cross or a question mark), not NHS England's artwork; they
never carry the meaning by colour alone (the arrow or mark, and always the words beside them, A112), and are
hidden from screen readers, which read the words.
"""

from __future__ import annotations

import html
import math

WIDTH, HEIGHT, PAD = 112, 28, 3  # a trend line's box, in px, and the margin kept round its points
LINE = "#333333"

# The words beside each icon (A112). The variation's side ("high", "low") is added by variation_words.
VARIATION_WORDS = {
    "common_cause": "Common cause",
    "special_cause_improvement": "Special cause: improvement",
    "special_cause_concern": "Special cause: concern",
    "special_cause_neither": "Special cause: a volume's change",
    None: "Too few figures",
}
ASSURANCE_WORDS = {
    "consistently_met": "Target consistently met",
    "consistently_missed": "Target consistently missed",
    "hit_and_miss": "Hit and miss",
    None: "No target to assure",
}
_COLOUR = {  # Making Data Count's convention: blue good, orange concern, grey neither, purple a volume's change
    "special_cause_improvement": "#1d5fa8",
    "special_cause_concern": "#b84e00",
    "special_cause_neither": "#6a3d9a",
    "common_cause": "#5f5f5f",
    "consistently_met": "#1d5fa8",
    "consistently_missed": "#b84e00",
    "hit_and_miss": "#5f5f5f",
}


def _n(x: float) -> str:
    """A coordinate, short and stable: 2 decimals, no trailing zeros."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _known(v) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def points(values, width: int = WIDTH, height: int = HEIGHT, pad: int = PAD) -> list[tuple[float, float] | None]:
    """Each value's (x, y) in the box, None for a missing one: months evenly across, the lowest figure at the
    bottom and the highest at the top (a flat series along the middle). Only the known values set the scale."""
    n = len(values)
    known = [float(v) for v in values if _known(v)]
    if not known:
        return [None] * n
    lo, hi = min(known), max(known)
    step = (width - 2 * pad) / (n - 1) if n > 1 else 0
    out = []
    for i, v in enumerate(values):
        if not _known(v):
            out.append(None)
            continue
        x = pad + i * step if n > 1 else width / 2
        y = height / 2 if hi == lo else pad + (height - 2 * pad) * (hi - float(v)) / (hi - lo)
        out.append((round(x, 2), round(y, 2)))
    return out


def segments(pts: list[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """The runs of consecutive known points: a missing month breaks the line."""
    runs, run = [], []
    for p in pts:
        if p is None:
            if run:
                runs.append(run)
            run = []
        else:
            run.append(p)
    if run:
        runs.append(run)
    return runs


def sparkline(values, label: str, width: int = WIDTH, height: int = HEIGHT) -> str:
    """An inline SVG trend line of ``values`` (oldest first; None or NaN a gap), named by ``label`` for screen
    readers. A run of one point is a dot; the latest known point is marked."""
    pts = points(values, width, height)
    parts = []
    for run in segments(pts):
        if len(run) == 1:
            x, y = run[0]
            parts.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="1.6" fill="{LINE}"/>')
        else:
            d = " ".join(f"{'M' if i == 0 else 'L'}{_n(x)} {_n(y)}" for i, (x, y) in enumerate(run))
            parts.append(f'<path d="{d}" fill="none" stroke="{LINE}" stroke-width="1.5" stroke-linejoin="round"/>')
    last = next((p for p in reversed(pts) if p is not None), None)
    if last is not None:
        parts.append(f'<circle class="latest" cx="{_n(last[0])}" cy="{_n(last[1])}" r="2.6" fill="{LINE}"/>')
    name = html.escape(label)
    return (
        f'<svg class="spark" role="img" aria-label="{name}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{name}</title>'
        + "".join(parts)
        + "</svg>"
    )


def trend_label(title: str, months: list[str], shown: list[str]) -> str:
    """What a trend line says to a screen reader: its title, then each month with its figure as shown."""
    each = "; ".join(f"{m}: {s}" for m, s in zip(months, shown, strict=True))
    return f"{title}, {len(months)} months, {months[0]} to {months[-1]}: {each}" if months else title


def _icon(colour: str, mark: str, label_class: str) -> str:
    return (
        f'<svg class="mdc-icon {label_class}" aria-hidden="true" focusable="false" width="22" height="22" '
        f'viewBox="0 0 22 22" xmlns="http://www.w3.org/2000/svg"><circle cx="11" cy="11" r="10" fill="{colour}"/>'
        f"{mark}</svg>"
    )


_WHITE = 'fill="none" stroke="#ffffff" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"'
_MARKS = {
    "up": f'<path d="M11 16.5V5.5M6.5 10L11 5.5L15.5 10" {_WHITE}/>',
    "down": f'<path d="M11 5.5V16.5M6.5 12L11 16.5L15.5 12" {_WHITE}/>',
    "wave": f'<path d="M4.5 11C6.5 7 8.5 7 11 11S15.5 15 17.5 11" {_WHITE}/>',
    "tick": f'<path d="M6 11.5L9.5 15L16 7.5" {_WHITE}/>',
    "cross": f'<path d="M7 7L15 15M15 7L7 15" {_WHITE}/>',
    "query": f'<path d="M8 8.5C8 6.5 9.5 5.5 11 5.5S14 6.5 14 8.3C14 10.5 11 10.8 11 13" {_WHITE}/>'
    '<circle cx="11" cy="16.3" r="1.3" fill="#ffffff"/>',
}


def variation_words(variation: str | None, side: str | None = None) -> str:
    """The variation in words, with the side of the average a special cause lies on ("high", "low")."""
    words = VARIATION_WORDS[variation]
    return f"{words} ({side})" if side and variation and variation.startswith("special") else words


def variation_icon(variation: str | None, side: str | None = None) -> str:
    """Making Data Count's variation icon, our drawing: a special cause's circle holds an arrow up (high) or
    down (low), common cause a wave; no icon without a verdict."""
    if variation is None:
        return ""
    if variation == "common_cause":
        mark = _MARKS["wave"]
    else:
        mark = _MARKS["up" if side == "high" else "down" if side == "low" else "query"]
    return _icon(_COLOUR[variation], mark, variation.replace("_", "-"))


def assurance_icon(assurance: str | None) -> str:
    """Making Data Count's assurance icon, our drawing: a tick (consistently met), a cross (consistently missed)
    or a question mark (hit and miss); no icon without a target."""
    if assurance is None:
        return ""
    mark = {"consistently_met": "tick", "consistently_missed": "cross", "hit_and_miss": "query"}[assurance]
    return _icon(_COLOUR[assurance], _MARKS[mark], assurance.replace("_", "-"))


def with_words(icon: str, words: str) -> str:
    """An icon and its words side by side (the words are what is read and what is printed)."""
    return f'<span class="mdc">{icon}<span>{html.escape(words)}</span></span>'
