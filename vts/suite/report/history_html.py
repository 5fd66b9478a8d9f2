"""The history as one self-contained HTML page, in the report's style and under its
rules (`vts.suite.report.html`): inline CSS and SVG, no script, every value escaped.

Charts are drawn for the first CHART_LIMIT series that changed (about 0.1 s each); the
rest keep their tables, and the page says how to narrow the pattern.
"""

from __future__ import annotations

from datetime import datetime, timezone

import jinja2
from markupsafe import Markup

from vts.suite.report.history_chart import series_chart
from vts.suite.report.history_text import METHOD
from vts.suite.report.history_view import UNCONFIRMED_NOTE, HistoryView
from vts.suite.report.html import TEMPLATES

CHART_LIMIT = 60


def render(view: HistoryView) -> str:
    """The page for `view`."""
    charts = [Markup(series_chart(s, f"h{i}"))  # matplotlib escapes the text in its SVG
              for i, s in enumerate(view.changed[:CHART_LIMIT])]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    return env.get_template("history.html.j2").render(
        view=view, charts=charts, chart_limit=CHART_LIMIT, method=METHOD,
        unconfirmed_note=UNCONFIRMED_NOTE,
        generated=datetime.now(timezone.utc).replace(microsecond=0).isoformat())
