"""`vts history` as text: a compact rich view for the terminal, and Markdown (plain text,
full commit subjects) for CI summaries and issues.

Both print the same rows (`history_view`). The terminal cuts subjects to its width; the
Markdown never cuts anything. Names and subjects are escaped for each format (rich markup,
Markdown), so a subject like `[bold]` or `a | b` is shown as written.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vts.suite.gate import DEFAULT_INSTRUCTION_THRESHOLD
from vts.suite.history.steps import TIME_STEP
from vts.suite.report.history_view import UNCONFIRMED_NOTE, HistoryView, Shown
from vts.suite.report.markdown import escape as md

_STYLE = {"up": "red bold", "down": "green bold", "new": "cyan", "gone": "yellow", "": "dim"}
METHOD = ("Steps: counts (allocations, bytes, GC) at any change; instructions "
          f"{DEFAULT_INSTRUCTION_THRESHOLD:.0%} and times {TIME_STEP + 1:g}x from "
          "their level, when the change lasts (docs/history.md).")


def _said(shown: Shown) -> str:
    return f"{shown.text} ({shown.change})" if shown.change else shown.text


def print_history(view: HistoryView, console: Console | None = None) -> None:
    """The history as rich tables, one per series that changed."""
    console = console or Console()
    console.print(f"[bold]vts history[/] {escape(view.pattern)}: "
                  f"{escape(', '.join(view.sources))}")
    for series in view.changed:
        table = Table(title=f"{escape(series.title)} [dim]{escape(series.series.build or '')}"
                      f" · {escape(series.span)}[/]", title_justify="left", box=None,
                      pad_edge=False, title_style="bold")
        texts = [[_said(f) for f in row.figures] for row in series.rows]
        # Commits and figures are never cut; the subject takes what is left of the width.
        widths = [max(len(row.label) for row in series.rows)]
        if view.several_sources:
            widths.append(min(24, max(len(row.stop.source) for row in series.rows)))
        widths += [max(len(quantity.label), *(len(t[index]) for t in texts))
                   for index, quantity in enumerate(series.columns)]
        table.add_column("commit", no_wrap=True, min_width=widths[0])
        if view.several_sources:
            table.add_column("from", no_wrap=True, overflow="ellipsis", max_width=24)
        for index, quantity in enumerate(series.columns):
            table.add_column(quantity.label, justify="right", no_wrap=True,
                             min_width=widths[-len(series.columns) + index])
        table.add_column("subject", no_wrap=True, overflow="ellipsis",
                         max_width=max(20, console.width - sum(widths) - 2 * len(widths)))
        for row, said in zip(series.rows, texts, strict=True):
            source = [escape(row.stop.source)] if view.several_sources else []
            figures = [f"[{_STYLE[f.direction]}]{escape(text)}[/]"
                       for f, text in zip(row.figures, said, strict=True)]
            note = f" [dim]({escape(row.stop.note)})[/]" if row.stop.note else ""
            table.add_row(escape(row.label), *source, *figures, escape(row.subject) + note)
        console.print(table)
    _print_tail(view, console)


def _print_tail(view: HistoryView, console: Console) -> None:
    if view.unchanged:
        names = ", ".join(s.title for s in view.unchanged)
        console.print(f"[dim]unchanged: {escape(names)}[/]")
    if view.unconfirmed:
        console.print(f"[dim]{escape(UNCONFIRMED_NOTE)}[/]")
    for note in view.notes:
        console.print(f"[yellow]! {escape(note)}[/]")
    console.print(f"[dim]{escape(METHOD)}[/]")


def markdown(view: HistoryView) -> str:
    """The history as Markdown: a table per series that changed, full subjects."""
    lines = [f"## vts history: `{md(view.pattern)}`", "",
             f"From {md(', '.join(view.sources))}. {md(METHOD)}", ""]
    for series in view.changed:
        build = f" ({md(series.series.build)})" if series.series.build else ""
        lines += [f"### {md(series.title)}{build}", "", f"{md(series.span)}", ""]
        head = ["commit", *(["from"] if view.several_sources else []),
                *(q.label for q in series.columns), "subject"]
        lines += [_md_row(head), _md_row(["---"] * len(head))]
        for row in series.rows:
            subject = md(row.subject) + (f" ({md(row.stop.note)})" if row.stop.note else "")
            lines.append(_md_row([md(row.label),
                                  *([md(row.stop.source)] if view.several_sources else []),
                                  *(_md_figure(f) for f in row.figures), subject]))
        lines.append("")
    if view.unchanged:
        lines += ["Unchanged: " + ", ".join(md(s.title) for s in view.unchanged), ""]
    if view.unconfirmed:
        lines += [md(UNCONFIRMED_NOTE), ""]
    lines += [f"- {md(note)}" for note in view.notes] + ([""] if view.notes else [])
    return "\n".join(lines)


def _md_figure(shown: Shown) -> str:
    return f"**{md(_said(shown))}**" if shown.change else md(shown.text)




def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"
