"""`vts report RESULTS...`: one self-contained HTML page (or Markdown) from results files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vts import results
from vts.errors import UsageError
from vts.gate import DEFAULT_BASELINE, GateResult, compare

help = "write a self-contained HTML report (or Markdown) from one or more results files"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="+", type=Path, metavar="RESULTS",
                        help="results.json files; several are merged (later cells win)")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="where to write (HTML: default report.html next to the first "
                        "RESULTS; Markdown: default stdout)")
    parser.add_argument("--baseline", type=Path, metavar="FILE",
                        help=f"baseline to diff against (default {DEFAULT_BASELINE}, "
                        "when it exists)")
    parser.add_argument("--format", choices=("html", "markdown"), default="html")


def run(args: argparse.Namespace) -> int:
    paths: list[Path] = args.results
    loaded = [(path, results.load(path)) for path in paths]
    if args.format == "html":
        output: Path | None = args.output or paths[0].parent / "report.html"
    else:
        output = args.output
    if output is not None and not output.parent.is_dir():
        raise UsageError(f"{output.parent}: no such directory for the report")
    link_dir = output.parent if output is not None else Path.cwd()
    run_ = results.merge([results.rebase(r, p.parent, link_dir) for p, r in loaded])
    gate, gate_error, baseline_name = _compare(run_, args.baseline, link_dir)

    if args.format == "markdown":
        from vts.report import markdown

        text = markdown.render(run_, gate, baseline_name, gate_error)
        if output is None:
            sys.stdout.write(text)
            return 0
        output.write_text(text, encoding="utf-8")
    else:
        from vts.report import html

        assert output is not None
        page = html.render(run_, gate=gate, gate_error=gate_error, baseline_name=baseline_name,
                           link_base=link_dir, sources=[str(p) for p in paths])
        html.write(output, page)
    print(output)
    return 0


def _compare(run_: results.Run, baseline: Path | None,
             run_dir: Path) -> tuple[GateResult | None, str | None, str]:
    """The gate's comparison, or why there is none. An explicit --baseline must load."""
    path = baseline or DEFAULT_BASELINE
    if baseline is None and not path.is_file():
        return None, None, str(path)
    try:
        reference = results.load(path, kind="baseline")
        gate = compare(run_, reference, run_dir=run_dir, baseline_dir=path.parent)
    except UsageError as exc:
        if baseline is not None and not str(exc).startswith("no cell matches"):
            raise
        return None, str(exc), str(path)
    return gate, None, str(path)
