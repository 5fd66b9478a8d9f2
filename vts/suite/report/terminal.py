"""A rich table per environment: the run at a glance in a terminal.

Used by `vts bench` at the end of a run and by `vts report` / `vts gate`. Names go through
`rich.markup.escape`, so a name like `[bold]` is shown, not interpreted.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vts.suite import results
from vts.suite.gate import GateResult
from vts.suite.report.views import UNSTABLE_REMEDY, environment_views


def summary_tables(run: results.Run, gate: GateResult | None = None) -> list[Table]:
    """One table per environment: scenario, strategy, mean, ratio, allocations, bytes."""
    tables = []
    for view in environment_views(run, gate):
        table = Table(title=f"{escape(view.key)}", title_justify="left", title_style="bold")
        table.add_column("Scenario")
        table.add_column("Strategy")
        for name in ("Mean", "Ratio (mean)", "Instructions/op", "Allocated/op", "Above floor",
                     "Bytes/op"):
            table.add_column(name, justify="right")
        failures: list[str] = []
        for scenario in view.tables:
            for index, row in enumerate(scenario.rows):
                label = escape(scenario.scenario) if index == 0 else ""
                name = escape(row.strategy) + (" [dim](ref)[/]" if row.is_reference else "")
                if row.failed:
                    table.add_row(label, name, "[red]failed[/]", "", "", "", "", "",
                                  end_section=index == len(scenario.rows) - 1)
                    failures.append(f"[red]{escape(row.cell_id)}: {escape(row.error)}[/]")
                    continue
                allocs = row.allocs
                if row.change == "regression":
                    allocs = f"[red bold]{allocs} ▲[/]"
                elif row.change == "improvement":
                    allocs = f"[green bold]{allocs} ▼[/]"
                mean = row.mean
                if row.unstable:
                    mean = f"[yellow]{mean} ![/]"
                    failures.append(f"[yellow]unstable {escape(row.cell_id)}: "
                                    f"{escape(row.unstable)}[/]")
                table.add_row(label, name, mean, row.ratio, row.instructions, allocs,
                              row.above_floor,
                              row.bytes, end_section=index == len(scenario.rows) - 1)
        if any("unstable" in line for line in failures):
            failures.append(f"[yellow]! {escape(UNSTABLE_REMEDY)}[/]")
        if failures:  # below the table: an error does not fit a column
            table.caption = "\n".join(failures)
            table.caption_justify = "left"
        tables.append(table)
    return tables


def print_summary(run: results.Run, console: Console | None = None,
                  gate: GateResult | None = None) -> None:
    """Print the run's tables (to stdout unless `console` says otherwise)."""
    console = console or Console()
    for table in summary_tables(run, gate):
        console.print(table)
