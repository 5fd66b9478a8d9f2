"""A report written from runs already loaded: merged measure by measure (one line says
which figures more than one run measured), compared with the baseline (when
there is one), rendered as HTML or Markdown, written atomically beside its results and
never over them. `vts report` loads its RESULTS and calls it; `vts bench` hands it the run
it has just measured.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from vts.suite import atomic, results
from vts.suite.errors import UsageError
from vts.suite.formatting import fmt_path
from vts.suite.gate import (
    DEFAULT_BASELINE,
    GateResult,
    NoMatchingCells,
    UnrecordedBuild,
    compare,
)

# The page `vts history` writes beside the runs (reports/runs/history.html by default).
HISTORY_PAGE = "history.html"


def write_report(loaded: list[tuple[Path, results.Run]], output: Path | None = None,
                 fmt: str = "html", baseline: Path | None = None) -> Path | None:
    """Render the merged runs of `loaded` (each with the path it was read from) as `fmt`
    ("html" or "markdown") into `output`; returns where it was written (None: Markdown went
    to stdout). HTML defaults to report.html beside the first results file."""
    paths = [path for path, _ in loaded]
    if fmt == "html" and output is None:
        output = paths[0].parent / "report.html"
    if output is not None:
        if not output.parent.is_dir():
            raise UsageError(f"{output.parent}: no such directory for the report")
        _refuse_to_replace_results(output, paths, baseline or DEFAULT_BASELINE)
    link_dir = output.parent if output is not None else Path.cwd()
    merged = results.merge_figures([results.rebase(r, p.parent, link_dir) for p, r in loaded])
    run_, merge_note = merged.run, merged.note()
    gate, gate_error, baseline_name = _compare(run_, baseline, link_dir)

    if fmt == "markdown":
        from vts.suite.report import markdown

        text = markdown.render(run_, gate, baseline_name, gate_error, merge_note=merge_note,
                               link_base=link_dir)
        if output is None:
            sys.stdout.write(text)
            return None
        atomic.write_text(output, text)
    else:
        from vts.suite.report import html

        assert output is not None
        page = html.render(run_, gate=gate, gate_error=gate_error, baseline_name=baseline_name,
                           link_base=link_dir, sources=[fmt_path(p) for p in paths],
                           merge_note=merge_note, history=history_link(output))
        atomic.write_text(output, page)
    return output


def history_link(output: Path) -> str | None:
    """The history page relative to a report written at `output`, where one exists: in the
    report's directory, or the one above (a run's directory sits in the runs directory)."""
    for where in (output.parent, output.parent.parent):
        page = where / HISTORY_PAGE
        if page.is_file():
            return Path(os.path.relpath(page, output.parent)).as_posix()
    return None


def _refuse_to_replace_results(output: Path, paths: list[Path], baseline: Path) -> None:
    """A report is written beside results, never over them (or over any results file)."""
    if not output.is_file():
        return
    if any(path.is_file() and output.samefile(path) for path in paths):
        raise UsageError(f"{output}: is one of the RESULTS; a report never replaces its "
                         "results: write it elsewhere")
    if baseline.is_file() and output.samefile(baseline):
        raise UsageError(f"{output}: is the baseline; a report never replaces it: write it "
                         "elsewhere")
    try:
        existing = json.loads(output.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return  # not JSON: an earlier report, or nothing vts reads
    if isinstance(existing, dict) and "schema_version" in existing:
        raise UsageError(f"{output}: holds a results file; a report never replaces one: "
                         "write it elsewhere")


def _compare(run_: results.Run, baseline: Path | None,
             run_dir: Path) -> tuple[GateResult | None, str | None, str]:
    """The gate's comparison, or why there is none. An explicit --baseline must load."""
    path = baseline or DEFAULT_BASELINE
    name = fmt_path(path)
    if baseline is None and not path.is_file():
        return None, None, name
    try:
        reference = results.load(path, kind="baseline")
        gate = compare(run_, reference, run_dir=run_dir, baseline_dir=path.parent,
                       baseline_path=path)
    except (NoMatchingCells, UnrecordedBuild) as exc:  # shown in the report, not fatal
        return None, str(exc), name
    except UsageError as exc:
        if baseline is not None:  # an explicit --baseline must load
            raise
        return None, str(exc).replace(str(path), name), name
    return gate, None, name


__all__ = ["HISTORY_PAGE", "history_link", "write_report"]
