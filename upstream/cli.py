"""The `upstream` command line: one tool for every stage, each a thin face over its package."""
from __future__ import annotations

import functools
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

app = typer.Typer(help="Upstream: measured, explained and governed risk models for council prevention work.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console(stderr=True)
out = Console()


class UserError(Exception):
    """A problem the user can fix; shown as one line, exit code 1."""


def friendly_errors(fn):
    """Known failures become one clear line and a non-zero exit, never a traceback."""
    from features.sources import SourceError

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (UserError, SourceError, ValueError, FileNotFoundError) as exc:
            console.print(f"[bold red]Error:[/] {exc}")
            raise typer.Exit(1) from None
    return wrapper


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=not sys.stderr.isatty())


@app.command()
@friendly_errors
def synth(
    households: int = typer.Option(110_000, help="Households in the borough."),
    months: int = typer.Option(36, help="Monthly snapshots to simulate (from April 2023)."),
    seed: int = typer.Option(42, help="Random seed: the same seed gives byte-identical output."),
    out_dir: Path = typer.Option(..., "--out", help="Folder to write extracts/, truth/ and manifest.json to."),
    scenario: str = typer.Option("baseline", help="baseline, energy-shock, uc-migration or rent-rise."),
    report: bool = typer.Option(False, "--report", help="Also write and print the calibration table."),
    workers: int = typer.Option(0, help="Worker processes (0 = one per core)."),
):
    """Generate a synthetic borough: council extracts plus the hidden truth behind them."""
    from synth import BoroughSpec, generate

    spec = BoroughSpec(households=households, months=months, seed=seed, scenario=scenario)
    with _progress() as progress:
        task = progress.add_task(f"Simulating {households:,} households x {months} months", total=households)
        generate(spec, out_dir, workers=workers or None, progress=lambda n: progress.advance(task, n))
    console.print(f"Wrote borough to [bold]{out_dir}[/] (extracts/, truth/, manifest.json)")
    if report:
        _calibration_report(out_dir)


def _calibration_report(data: Path):
    from synth import calibration_table

    table = calibration_table(data)
    table.to_csv(data / "calibration.csv", index=False)
    (data / "calibration.md").write_text(calibration_markdown(table))
    view = RichTable(title="Calibration against published figures (../shared/CALIBRATION.md)")
    for name in ("figure", "generated", "target", "ok", "source"):
        view.add_column(name, overflow="fold")
    for row in table.itertuples():
        view.add_row(row.figure, f"{row.generated:.3g}", f"{row.low:g} - {row.high:g}",
                     "[green]yes[/]" if row.in_range else "[red]NO[/]", row.source)
    out.print(view)
    misses = int((~table["in_range"]).sum())
    console.print(f"{len(table) - misses} of {len(table)} figures in range; table in {data / 'calibration.csv'}")


def calibration_markdown(table) -> str:
    lines = ["| figure | generated | target | in range | source |", "|---|---|---|---|---|"]
    lines += [f"| {r.figure} | {r.generated:.3g} | {r.low:g} - {r.high:g} | {'yes' if r.in_range else 'NO'} | "
              f"{r.source} |" for r in table.itertuples()]
    return "\n".join(lines) + "\n"


@app.command()
@friendly_errors
def validate(
    data: Path = typer.Option(..., help="Borough folder holding extracts/."),
    quarantine: Path = typer.Option(None, help="Where to write rejected rows (default DATA/quarantine)."),
):
    """Load every extract through its contract and report accepted and quarantined rows."""
    from features.sources import TABLES, load_table, write_quarantine

    if not (data / "extracts").is_dir():
        raise UserError(f"{data / 'extracts'} does not exist: point --data at a folder with extracts/")
    folder = quarantine or data / "quarantine"
    view = RichTable(title=f"Extracts in {data}")
    view.add_column("table", no_wrap=True)
    for name in ("rows in", "accepted", "quarantined"):
        view.add_column(name, justify="right")
    view.add_column("quarantine file", overflow="fold")
    with _progress() as progress:
        task = progress.add_task("Checking extracts", total=len(TABLES))
        for table in TABLES:
            result = load_table(data, table.path)
            written = write_quarantine(result, folder)
            view.add_row(table.path, f"{result.rows_in:,}", f"{len(result.data):,}", f"{len(result.quarantine):,}",
                         written.name if written else "")
            progress.advance(task)
    out.print(view)
    console.print(f"Rejected rows, with file, row number and reason, are in {folder}")


@app.command()
def contract(out_file: Path = typer.Option(Path("docs/data-contract.md"), "--out", help="Markdown file to write.")):
    """Write the data contract (every extract's columns, meanings and rules) as Markdown."""
    from features.sources import markdown

    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(markdown())
    console.print(f"Wrote {out_file}")


if __name__ == "__main__":
    app()
