"""A rich table per environment: the run at a glance in a terminal.

Used by `vts bench` at the end of a run and by `vts report` / `vts gate`. Names go through
`rich.markup.escape`, so a name like `[bold]` is shown, not interpreted.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from vts.suite import results
from vts.suite.gate import GateResult
from vts.suite.report import stdlib_table, verdict, verdict_text
from vts.suite.report.views import (
    ABOVE_FLOOR,
    ALLOCS,
    INSTRUCTIONS,
    TIME,
    UNSTABLE_REMEDY,
    environment_views,
)

# The columns, each with the group it belongs to (views.ScenarioTable.shown): a group no
# cell of the environment measured is left out.
COLUMNS = (("Median", TIME), ("Ratio (median)", TIME), ("Instructions/op", INSTRUCTIONS),
           ("Allocated/op", ALLOCS), ("Above floor", ABOVE_FLOOR), ("Bytes/op", ALLOCS))


def summary_tables(run: results.Run, gate: GateResult | None = None,
                   link_base: Path | None = None) -> list[Table]:
    """One table per environment: scenario, strategy, median, ratio, allocations, bytes (the
    ones measured); `link_base`: where the run's pyperf files are (the Ratio's t-test)."""
    tables = []
    for view in environment_views(run, gate, link_base):
        table = Table(title=f"{escape(view.key)}", title_justify="left", title_style="bold")
        table.add_column("Scenario")
        table.add_column("Strategy")
        shown = frozenset().union(*(scenario.shown for scenario in view.tables))
        columns = [index for index, (_, group) in enumerate(COLUMNS) if group in shown]
        for index in columns:
            table.add_column(COLUMNS[index][0], justify="right")
        failures: list[str] = []
        unstable: list[str] = []
        for scenario in view.tables:
            if scenario.untimed:
                failures.append(f"{escape(scenario.untimed)}.")
            for index, row in enumerate(scenario.rows):
                label = escape(scenario.scenario) if index == 0 else ""
                name = escape(row.strategy) + (" [dim](ref)[/]" if row.is_reference else "")
                last = index == len(scenario.rows) - 1
                if row.failed:
                    table.add_row(label, name, "[red]failed[/]", *("",) * (len(columns) - 1),
                                  end_section=last)
                    failures.append(f"[red]{escape(row.cell_id)}: {escape(row.error)}[/]")
                    continue
                allocs = row.allocs
                if row.change == "regression":
                    allocs = f"[red bold]{allocs} ▲[/]"
                elif row.change == "improvement":
                    allocs = f"[green bold]{allocs} ▼[/]"
                median = row.median
                if row.unstable:
                    median = f"[yellow]{median} ![/]"
                    unstable.append(f"{escape(row.cell_id)} ({escape(row.unstable)})")
                every = [median, row.ratio, row.instructions, allocs, row.above_floor, row.bytes]
                table.add_row(label, name, *(every[i] for i in columns), end_section=last)
        if unstable:  # one banner for the table
            failures.append(f"[yellow]! {len(unstable)} times unstable: {'; '.join(unstable)}. "
                            f"{escape(UNSTABLE_REMEDY)}.[/]")
        if failures:  # below the table: an error does not fit a column
            table.caption = "\n".join(failures)
            table.caption_justify = "left"
        tables.append(table)
    return tables


def print_summary(run: results.Run, console: Console | None = None,
                  gate: GateResult | None = None, link_base: Path | None = None, *,
                  with_verdict: bool = True) -> None:
    """Print the run's tables, then its verdict unless the caller prints it last itself
    (`print_verdict`), to stdout unless `console` says otherwise."""
    console = console or Console()
    for table in summary_tables(run, gate, link_base):
        console.print(table)
    for table in stdlib_tables(run, gate, link_base):
        console.print(table)
    if with_verdict:
        print_verdict(run, console)


def stdlib_tables(run: results.Run, gate: GateResult | None = None,
                  link_base: Path | None = None) -> list[Table]:
    """What the standard library costs, per environment that measured it."""
    verdicts = {found.key: found for found in verdict.verdicts(run)}
    tables = []
    for view in environment_views(run, gate, link_base):
        costs = stdlib_table.cost_table(view, verdicts.get(view.key))
        if costs is None:
            continue
        table = Table(title=escape(f"{stdlib_table.HEADING}: {view.key}"), title_justify="left",
                      title_style="bold", caption="left: no suspension; right: one suspension",
                      caption_justify="left")
        table.add_column("Await")
        for label in costs.labels * 2:
            table.add_column(escape(label), justify="right")
        for row in costs.rows:
            table.add_row(escape(row.name) + (" [dim](strategy)[/]" if row.strategy else ""),
                          *(escape(value) for value in costs.cells(row)))
        tables.append(table)
    return tables


def print_verdict(run: results.Run, console: Console) -> None:
    """Print the run's verdict per environment (`vts bench` prints it last of all)."""
    for renderable in verdict_renderables(run):
        console.print(renderable)


def verdict_renderables(run: results.Run) -> list[RenderableType]:
    """The verdict per environment, last in the output: the picks, what is missing (with
    the command), and the matrices with each scenario's cheapest in green."""
    out: list[RenderableType] = []
    for found in verdict.verdicts(run):
        out.append(Text(f"{verdict_text.HEADING} {found.key}", style="bold"))
        for matrix in found.matrices:
            table = Table(show_edge=False, pad_edge=False, box=None)
            table.add_column(Text(f"vs {matrix.reference}"))
            for column in matrix.columns:
                table.add_column(Text(column.scenario), justify="right")
            for name in matrix.strategies:
                table.add_row(Text(name), *(Text(verdict_text.matrix_cell(c, c.figures.get(name)),
                                           style="green bold" if name in c.cheapest else "")
                                      for c in matrix.columns))
            out.append(table)
        out += [Text(f"- {verdict_text.recommendation(rec)}")
                for rec in found.recommendations]
        out += [Text(f"- {line}") for line in verdict_text.stdlib_lines(found)]
        out += [Text(f"! {line}", style="yellow") for line in verdict_text.missing_lines(found)]
    if out:
        out.append(Text(verdict_text.RULE, style="dim"))
    return out
