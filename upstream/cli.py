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

    _require_extracts(data)
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
@friendly_errors
def link(
    data: Path = typer.Option(..., help="Borough folder holding extracts/."),
    out_file: Path = typer.Option(..., "--out", help="Parquet file: source, record_id, uprn, method, score."),
):
    """Link every record of every source to a property (UPRN): exact, by address, or unmatched."""
    from features.linkage import link as run_link

    _require_extracts(data)
    with _progress() as progress:
        task = progress.add_task("Linking records to the gazetteer", total=7)
        links = run_link(data, work=_work_dir(), progress=lambda _: progress.advance(task))
    out_file.parent.mkdir(parents=True, exist_ok=True)
    links.to_parquet(out_file, index=False)
    _linkage_report(links, data)
    console.print(f"Wrote {len(links):,} links to {out_file}")


def _linkage_report(links, data: Path):
    view = RichTable(title="Linkage")
    truth = (data / "truth" / "crosswalk.parquet").exists()
    columns = ["source", "records", "exact", "address", "unmatched"]
    if truth:
        from synth import linkage_report

        report = linkage_report(links, data)
        columns += ["precision*", "recall*"]
    else:
        report = links.groupby("source")["method"].value_counts().unstack(fill_value=0).reset_index()
        report["records"] = report[["exact", "address", "unmatched"]].sum(axis=1)
    for name in columns:
        view.add_column(name, justify="left" if name == "source" else "right")
    for row in report.to_dict("records"):
        cells = [row["source"], *(f"{row.get(k, 0):,}" for k in ("records", "exact", "address", "unmatched"))]
        if truth:
            cells += [f"{row['precision_without_uprn']:.2%}", f"{row['recall_without_uprn']:.2%}"]
        view.add_row(*cells)
    out.print(view)
    if truth:
        console.print("* for records that carried no UPRN, against the synthetic borough's truth crosswalk")


def _require_extracts(data: Path):
    if not (data / "extracts").is_dir():
        raise UserError(f"{data / 'extracts'} does not exist: point --data at a folder with extracts/")


def _work_dir() -> Path:
    from upstream.config import home

    work = home() / "cache"
    work.mkdir(parents=True, exist_ok=True)
    return work


@app.command()
@friendly_errors
def features(
    data: Path = typer.Option(..., help="Borough folder holding extracts/."),
    out_file: Path = typer.Option(..., "--out", help="Parquet file for the matrix."),
    as_of: list[str] = typer.Option(None, "--as-of", help="As-of date (first of a month); repeat for several. "
                                                            "Default: every month with six months of history."),
    engine: str = typer.Option("duckdb", help="duckdb (embedded, default) or spark."),
    links_file: Path = typer.Option(None, "--links", help="Links from `upstream link` (default: link now)."),
):
    """Build the point-in-time feature matrix: household_key, as_of, features, label_* columns."""
    import pandas as pd
    import pyarrow.parquet as pq

    from features.build import build_matrix
    from features.dictionary import to_json
    from features.engines import ENGINES
    from features.linkage import link as run_link
    from upstream.config import secret_key

    _require_extracts(data)
    if engine not in ENGINES:
        raise UserError(f"unknown engine {engine!r}; choose duckdb or spark")
    dates = [_month_start(d) for d in as_of or []]
    with _progress() as progress:
        task = progress.add_task("Linking records", total=None if links_file else 7)
        links = pd.read_parquet(links_file) if links_file else run_link(
            data, work=_work_dir(), progress=lambda _: progress.advance(task))
        progress.update(task, description=f"Building features on {engine}", total=None)
        build_matrix(data, links, out_file, secret_key(), as_of=dates or None, engine=engine)
    dictionary = out_file.with_name(out_file.stem + ".features.json")
    dictionary.write_text(to_json())
    meta = pq.read_metadata(out_file)
    as_of_count = len(pq.read_table(out_file, columns=["as_of"]).column(0).unique())
    console.print(f"Wrote {meta.num_rows:,} rows x {meta.num_columns} columns ({as_of_count} as-of dates) to "
                  f"{out_file}; dictionary in {dictionary}")


def _month_start(text: str):
    import pandas as pd

    try:
        date = pd.Timestamp(text)
    except ValueError as exc:
        raise UserError(f"--as-of {text!r} is not a date (use YYYY-MM-DD)") from exc
    if date.day != 1:
        raise UserError(f"--as-of {text} must be the first day of a month")
    return date


@app.command()
def docs(folder: Path = typer.Option(Path("docs"), help="Where to write the generated documentation.")):
    """Write the generated docs: data contract, feature dictionary (Markdown and JSON)."""
    from features import dictionary
    from features.sources import markdown

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data-contract.md").write_text(markdown())
    (folder / "features.md").write_text(dictionary.markdown())
    (folder / "features.json").write_text(dictionary.to_json())
    console.print(f"Wrote data-contract.md, features.md and features.json to {folder}")


if __name__ == "__main__":
    app()
