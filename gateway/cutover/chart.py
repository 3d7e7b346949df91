"""The migration report as an SVG bar chart, drawn by hand (no plotting library): the totals
(in scope → invited → entered WeCom → wrote on WeCom → still only on MP) and, per day, invited /
entered / wrote side by side.
"""

from __future__ import annotations

from dataclasses import asdict
from xml.sax.saxutils import escape

from gateway.cutover.report import Report

COLORS = {"invited": "#5b8def", "entered_wecom": "#2fb36d", "wrote_wecom": "#f0a330"}
TOTALS = (
    ("in_scope", "in scope", "#8a8f98"),
    ("invited", "invited", COLORS["invited"]),
    ("entered_wecom", "entered WeCom", COLORS["entered_wecom"]),
    ("wrote_wecom", "wrote on WeCom", COLORS["wrote_wecom"]),
    ("only_mp", "still only on MP", "#d9534f"),
)
WIDTH, BAR_H, LABEL_W = 640, 22, 150


def render_svg(report: Report) -> str:
    totals = asdict(report.totals)
    top = max(totals["in_scope"], 1)
    parts: list[str] = []
    y = 40
    parts.append(
        _text(
            10,
            24,
            f"Migration {report.plan}: MP channel {report.mp_channel} → WeCom channel {report.wecom_channel}",
            15,
        )
    )
    for key, label, color in TOTALS:
        value = totals[key]
        width = int((WIDTH - LABEL_W - 60) * value / top)
        parts.append(_text(10, y + 16, label))
        parts.append(f'<rect x="{LABEL_W}" y="{y}" width="{width}" height="{BAR_H}" fill="{color}"/>')
        parts.append(_text(LABEL_W + width + 6, y + 16, str(value)))
        y += BAR_H + 8
    days = sorted(report.days.items())
    if days:
        y += 20
        parts.append(_text(10, y, "by day", 13))
        y += 10
        chart_h = 140
        peak = max(max(v.values()) for _, v in days) or 1
        slot = max(min((WIDTH - 40) // len(days), 90), 24)
        bar_w = max(slot // 4, 4)
        for i, (day, counts) in enumerate(days):
            x = 20 + i * slot
            for j, key in enumerate(COLORS):
                h = int(chart_h * counts[key] / peak)
                parts.append(
                    f'<rect x="{x + j * bar_w}" y="{y + chart_h - h}" width="{bar_w - 1}" height="{h}" '
                    f'fill="{COLORS[key]}"><title>{day} {key}: {counts[key]}</title></rect>'
                )
            parts.append(_text(x, y + chart_h + 14, day[5:], 10))
        y += chart_h + 24
        for j, key in enumerate(COLORS):
            parts.append(f'<rect x="{20 + j * 150}" y="{y}" width="10" height="10" fill="{COLORS[key]}"/>')
            parts.append(_text(34 + j * 150, y + 10, key.replace("_", " "), 11))
        y += 16
    height = y + 20
    body = "\n  ".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">\n  '
        f'<rect width="100%" height="100%" fill="white"/>\n  {body}\n</svg>\n'
    )


def _text(x: int, y: int, text: str, size: int = 12) -> str:
    return f'<text x="{x}" y="{y}" font-size="{size}">{escape(text)}</text>'
