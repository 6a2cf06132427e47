"""Server-side SVG charts of an allocation: they need no JavaScript, print as they are and scale.

Each chart is an ``<svg role="img">`` with a title and a description; the page shows the
same numbers in a table next to it for screen readers and for print.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from budgets.models import SHARE_LABELS
from budgets.selectors import Balance, MonthPoint
from core.money import format_euro

COLOURS = {"allocation": "#4b4f63", "committed": "#0a3d91", "paid": "#0b6b2e", "available": "#a04a00"}
WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 90, 20, 20, 40


def euro(amount: Decimal) -> str:
    return format_euro(amount, places=0)


def month_names() -> list[str]:
    return [_("Jan"), _("Feb"), _("Mär"), _("Apr"), _("Mai"), _("Jun"),
            _("Jul"), _("Aug"), _("Sep"), _("Okt"), _("Nov"), _("Dez")]  # fmt: skip


def _y_axis(top: Decimal, y) -> SafeString:
    ticks = [top * Decimal(i) / 4 for i in range(5)]
    return format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#d0d2dc"/>'
        '<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>',
        ((LEFT, WIDTH - RIGHT, y(t), y(t), LEFT - 6, y(t), euro(t)) for t in ticks),
    )


def burn_down_svg(*, allocation: Decimal, points: list[MonthPoint], last_month: int, chart_id: str) -> SafeString:
    """Committed, paid and available over the months of the programme year, against the allocation."""
    top = max([allocation, *(p.committed for p in points)]) or Decimal("1")
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(month: int) -> str:
        return f"{LEFT + plot_w * (month - 0.5) / 12:.1f}"

    def y(value: Decimal) -> str:
        return f"{TOP + plot_h * (1 - float(value / top)):.1f}"

    shown = [p for p in points if p.month <= last_month]

    def line(key: str, value) -> SafeString:
        if not shown:
            return mark_safe("")
        coordinates = " ".join(f"{x(p.month)},{y(value(p))}" for p in shown)
        return format_html(
            '<polyline points="{}" fill="none" stroke="{}" stroke-width="3"/>{}',
            coordinates,
            COLOURS[key],
            format_html_join(
                "",
                '<circle cx="{}" cy="{}" r="3.5" fill="{}"/>',
                ((x(p.month), y(value(p)), COLOURS[key]) for p in shown),
            ),
        )

    months = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="middle">{}</text>',
        ((x(m), HEIGHT - BOTTOM + 18, name) for m, name in enumerate(month_names(), start=1)),
    )
    return format_html(
        '<svg class="fd-chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
        "{axis}{months}"
        '<line x1="{left}" x2="{right}" y1="{ya}" y2="{ya}" stroke="{ca}" stroke-width="2" stroke-dasharray="6 4"/>'
        "{available}{committed}{paid}</svg>",
        w=WIDTH,
        h=HEIGHT,
        id=chart_id,
        title=_("Verlauf im Programmjahr"),
        desc=_("Gebunden, ausgezahlt und verfügbar am Monatsende gegenüber der Mittelausstattung von %(amount)s.")
        % {"amount": euro(allocation)},
        axis=_y_axis(top, y),
        months=months,
        left=LEFT,
        right=WIDTH - RIGHT,
        ya=y(allocation),
        ca=COLOURS["allocation"],
        available=line("available", lambda p: max(allocation - p.committed, Decimal("0"))),
        committed=line("committed", lambda p: p.committed),
        paid=line("paid", lambda p: p.paid),
    )


def shares_svg(*, balances: dict[str, Balance], chart_id: str) -> SafeString:
    """Per funding share: allocation, committed and paid as grouped horizontal bars."""
    shares = [s for s in SHARE_LABELS if balances[s].allocation > 0]
    top = max([balances[s].allocation for s in shares] + [balances[s].committed for s in shares] + [Decimal("1")])
    bar, gap = 14, 22
    height = TOP + len(shares) * (3 * bar + gap) + 10
    plot_w = WIDTH - LEFT - RIGHT - 80

    def width(value: Decimal) -> str:
        return f"{plot_w * float(max(value, Decimal('0')) / top):.1f}"

    rows = []
    for i, share in enumerate(shares):
        base = TOP + i * (3 * bar + gap)
        b = balances[share]
        rows.append(
            format_html(
                '<text x="{lx}" y="{ly}" text-anchor="end" dominant-baseline="middle">{label}</text>'
                '<rect x="{x}" y="{y0}" width="{w0}" height="{bar}" fill="{c0}"/>'
                '<rect x="{x}" y="{y1}" width="{w1}" height="{bar}" fill="{c1}"/>'
                '<rect x="{x}" y="{y2}" width="{w2}" height="{bar}" fill="{c2}"/>'
                '<text x="{tx0}" y="{ty0}" dominant-baseline="middle">{v0}</text>'
                '<text x="{tx1}" y="{ty1}" dominant-baseline="middle">{v1}</text>'
                '<text x="{tx2}" y="{ty2}" dominant-baseline="middle">{v2}</text>',
                lx=LEFT - 8,
                ly=base + 1.5 * bar,
                label=SHARE_LABELS[share],
                x=LEFT,
                bar=bar,
                y0=base,
                y1=base + bar,
                y2=base + 2 * bar,
                w0=width(b.allocation),
                w1=width(b.committed),
                w2=width(b.paid),
                c0=COLOURS["allocation"],
                c1=COLOURS["committed"],
                c2=COLOURS["paid"],
                tx0=f"{LEFT + float(width(b.allocation)) + 6:.1f}",
                tx1=f"{LEFT + float(width(b.committed)) + 6:.1f}",
                tx2=f"{LEFT + float(width(b.paid)) + 6:.1f}",
                ty0=base + bar / 2,
                ty1=base + 1.5 * bar,
                ty2=base + 2.5 * bar,
                v0=euro(b.allocation),
                v1=euro(b.committed),
                v2=euro(b.paid),
            )
        )
    return format_html(
        '<svg class="fd-chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{rows}</svg>',
        w=WIDTH,
        h=height,
        id=chart_id,
        title=_("Förderanteile"),
        desc=_("Mittelausstattung, gebunden und ausgezahlt je Förderanteil."),
        rows=mark_safe("".join(rows)),  # each row was built by format_html
    )
