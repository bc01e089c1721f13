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
out = Console(width=None if sys.stdout.isatty() else 160)  # tables in logs and pipes keep their columns


@app.callback()
def _private_files():
    """Everything a command writes is its owner's alone: extracts, key maps (pseudonym to UPRN), equality
    data and held-out predictions are personal data, and a folder made by `synth --out` before $UPSTREAM_HOME
    existed was world-readable."""
    import os

    os.umask(0o077)


class UserError(Exception):
    """A problem the user can fix; shown as one line, exit code 1."""


def friendly_errors(fn):
    """Known failures become one clear line and a non-zero exit, never a traceback."""
    from features.sources import SourceError

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            from serving.database import DatabaseUnavailable  # here: SQLAlchemy would slow every command's start

            if _store_unreachable(exc):
                from upstream.config import shown_uri, tracking_uri

                console.print(f"[bold red]Error:[/] the MLflow store {shown_uri(tracking_uri())} cannot be reached "
                              "(is its server running? is MLFLOW_TRACKING_URI right?)")
                raise typer.Exit(1) from None
            if not isinstance(exc, (UserError, SourceError, ValueError, OSError, DatabaseUnavailable)):
                raise
            # OSError: a path that is a folder, exists already or may not be written; its message names it
            console.print(f"[bold red]Error:[/] {exc}")
            raise typer.Exit(1) from None
    return wrapper


def _store_unreachable(exc: Exception) -> bool:
    if type(exc).__module__.split(".")[0] != "mlflow":
        return False
    from models.tracking import unreachable

    return unreachable(exc)


class _Steps(Progress):
    """Rich's live bar on a terminal; in a log or CI, where it cannot redraw, each new step on a line of its own
    with the time since the command began, so a long run is never silent."""

    def add_task(self, description: str, *args, **kwargs):
        self._said(description)
        return super().add_task(description, *args, **kwargs)

    def update(self, task_id, *, description: str | None = None, **kwargs):
        if description is not None and description != next(t.description for t in self.tasks if t.id == task_id):
            self._said(description)
        return super().update(task_id, description=description, **kwargs)

    def _said(self, description: str):
        if not self.console.is_terminal:
            self.console.print(f"[{self.get_time() - self._started:6.1f} s] {description}", highlight=False)

    def __enter__(self):
        self._started = self.get_time()
        return super().__enter__()


def _progress() -> Progress:
    return _Steps(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
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

    if any((out_dir / sub).exists() for sub in ("extracts", "truth")) and not (out_dir / "manifest.json").exists():
        raise UserError(f"{out_dir} holds extracts/ or truth/ that `upstream synth` did not write (it has no "
                        "manifest.json), and a new borough would replace them: choose another folder")
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
    from features.linkage import write_links

    _require_extracts(data)
    with _progress() as progress:
        task = progress.add_task("Linking records to the gazetteer", total=7)
        links = run_link(data, work=_work_dir(), progress=lambda _: progress.advance(task))
    out_file.parent.mkdir(parents=True, exist_ok=True)
    write_links(links, out_file, data)
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
    from features.linkage import read_links
    from upstream.config import secret_key

    _require_extracts(data)
    if engine not in ENGINES:
        raise UserError(f"unknown engine {engine!r}; choose duckdb or spark")
    dates = [_month_start(d) for d in as_of or []]
    with _progress() as progress:
        task = progress.add_task("Reading links" if links_file else "Linking records", total=None if links_file else 7)
        links = read_links(links_file, data) if links_file else run_link(
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


def _data_option():
    return typer.Option(None, "--data", help="Borough folder holding extracts/ (default $UPSTREAM_HOME/borough).")


def _borough(data: Path | None) -> Path:
    from upstream.config import home

    data = data or home() / "borough"
    _require_extracts(data)
    return data


def _matrix_for(data: Path, features_file: Path | None, progress_note, as_of=None) -> Path:
    """The feature matrix for DATA: the given file (checked to come from DATA's extracts) or the cached one."""
    from features.build import cached_matrix, key_map_path, matrix_fingerprint
    from features.sources import extracts_fingerprint
    from upstream.config import secret_key

    if features_file is None:
        return cached_matrix(data, secret_key(), _work_dir(), progress_note, as_of=as_of)
    if not features_file.exists():
        raise UserError(f"{features_file} does not exist: build it with `upstream features`")
    if matrix_fingerprint(features_file) != extracts_fingerprint(data):
        raise UserError(f"{features_file} was not built from the extracts in {data}: rebuild it with "
                        "`upstream features`, or leave out --features")
    if not key_map_path(features_file).exists():
        raise UserError(f"{key_map_path(features_file)} (the key map beside the matrix) is missing: rebuild the matrix")
    return features_file


def _oracle_for(data: Path, target: str, matrix: Path):
    """On a synthetic borough, the truth's probabilities; on a council's own data, none."""
    if not (data / "truth" / f"{target}.parquet").exists():
        return None
    import pandas as pd

    from features.build import key_map_path
    from synth import oracle

    return oracle(data, target, pd.read_parquet(key_map_path(matrix), columns=["household_key", "uprn"]))


def _ceiling_for(data: Path, facts):
    """On a synthetic borough, the perfect-records ceiling on the version's latest test window: how much of
    the oracle's edge any model of council records could reach."""
    if not (data / "truth").exists():
        return None
    import pandas as pd

    from synth.evaluation import recordable_ceiling

    latest = [s for s in facts.splits.values() if s["test"] != "none"][-1]
    test = pd.date_range(*[f"{m}-01" for m in latest["test"].split(" to ")], freq="MS")
    return recordable_ceiling(data, facts.target, list(test), latest["calibration"].split(" to ")[1] + "-01",
                              facts.fairness["capacity"])


def _experiment(target: str | None, experiment: Path | None):
    from models.experiment import TARGETS, default_experiment, load_experiment

    if experiment is None and target is None:
        raise UserError("give --target (homelessness or fuel_poverty) or --experiment FILE")
    target = target.replace("-", "_") if target else None
    if target and target not in TARGETS:
        raise UserError(f"unknown target {target!r}; choose from {', '.join(TARGETS)}")
    exp = load_experiment(experiment) if experiment else default_experiment(target)
    if target and exp.target != target:
        raise UserError(f"{experiment} is an experiment for {exp.target}, not {target}")
    return exp


def _metrics_view(title: str, table, capacity: int):
    view = RichTable(title=title)
    columns = [("auc", "ROC AUC"), ("average_precision", "avg precision"), ("brier", "Brier"),
               ("calibration_error", "calib. error"), ("lift_top1pct", "lift top 1%"),
               ("precision_at_k", f"precision@{capacity}"), ("recall_at_k", f"recall@{capacity}")]
    view.add_column("scorer")
    for _, name in columns:
        view.add_column(name, justify="right")
    for row in table.to_dict("records"):
        view.add_row(row["scorer"], *("" if row[key] != row[key] else f"{row[key]:.3f}" for key, _ in columns))
    out.print(view)


@app.command()
@friendly_errors
def train(
    data: Path = _data_option(),
    target: str = typer.Option(None, help="homelessness or fuel_poverty (default: the experiment's)."),
    experiment: Path = typer.Option(None, help="Experiment YAML (default experiments/<target>.yaml)."),
    features_file: Path = typer.Option(None, "--features", help="Matrix from `upstream features` "
                                                                 "(default: built and cached for --data)."),
):
    """Train, validate over time, log to MLflow and register a `challenger` version."""
    from features.sources import extracts_fingerprint
    from models import tracking
    from models.pipeline import run
    from upstream.config import shown_uri

    exp = _experiment(target, experiment)
    data = _borough(data)
    with _progress() as progress:
        task = progress.add_task("Preparing features", total=None)

        def note(message: str):
            progress.update(task, description=message[:1].upper() + message[1:])

        matrix = _matrix_for(data, features_file, note)
        summary = run(matrix, exp, extracts_fingerprint(data), _oracle_for(data, exp.target, matrix), note)
    result = summary.result
    latest = result.metrics[result.metrics["split"] == result.splits[-1].name]
    _metrics_view(f"{exp.name}: latest test window ({result.splits[-1].describe()['test']})", latest, exp.capacity)
    model = result.latest("model")
    ratios = [f"{model['precision_vs_rule']:.2f}x the rule's precision@{exp.capacity}"]
    if "auc_skill" in model:
        ratios += [f"AUC skill vs oracle {model['auc_skill']:.2f}",
                   f"precision vs oracle {model['precision_ratio']:.2f}"]
    console.print("; ".join(ratios))
    if len(result.splits) < exp.splits.count:
        console.print(f"[yellow]Note:[/] validated on {len(result.splits)} of the {exp.splits.count} test windows the "
                      "experiment asks for: the borough's labelled months hold no more after the training months, "
                      "label gaps and calibration months each needs")
    console.print(f"Registered [bold]{summary.registered_name}[/] version {summary.version} as `challenger` "
                  f"(MLflow run {summary.run_id}). It serves caseworkers only once the ethics board approves it.")
    console.print(f"Runs, plots and models: `make mlflow-ui` (store {shown_uri(tracking.configure())})")


@app.command()
@friendly_errors
def score(
    data: Path = _data_option(),
    target: str = typer.Option(None, help="homelessness or fuel_poverty (default: both)."),
    as_of: str = typer.Option(..., "--as-of", help="First day of the month to score."),
    out_file: Path = typer.Option(None, "--out", help="Parquet (or .csv) file: uprn, as_of, target, score, rank, "
                                                      "reasons, model_version. Default: the month's risk lists go "
                                                      "into the application database, for caseworkers."),
    model_version: str = typer.Option(None, help="N, latest or challenger (default: the approved champion; "
                                                 "other versions only with --out)."),
    features_file: Path = typer.Option(None, "--features", help="Matrix holding that as-of date."),
):
    """Score every household resident at an as-of date: into the application database, or a file with --out."""
    import pandas as pd
    import pyarrow.dataset as ds

    from models import score as scoring
    from models.experiment import TARGETS

    targets = [_experiment(target, None).target] if target else list(TARGETS)
    data, date = _borough(data), _month_start(as_of)
    if out_file is None and model_version not in (None, "champion"):
        raise UserError("the caseworkers' risk lists come only from the approved champion: pass --out FILE to "
                        f"score version {model_version} for evaluation")
    if out_file is not None and out_file.suffix.lower() not in (".parquet", ".csv"):
        raise UserError(f"--out {out_file}: name a .parquet or a .csv file")
    if target is None and model_version not in (None, "champion", "challenger", "latest"):
        raise UserError(f"--model-version {model_version} names a version of one model: pass --target too")
    with _progress() as progress:
        task = progress.add_task("Preparing features", total=None)
        matrix = _matrix_for(data, features_file, lambda m: progress.update(task, description=m))
        at_date = ds.field("as_of") == date.to_datetime64()
        if not ds.dataset(matrix).to_table(columns=["as_of"], filter=at_date).num_rows:
            if features_file:
                raise UserError(f"{features_file} holds no rows at {date:%Y-%m-%d}")
            matrix = _matrix_for(data, None, lambda m: progress.update(task, description=m), as_of=[date])
        note = lambda m: progress.update(task, description=m)  # noqa: E731
        if out_file is None:
            written = _score_into_database(matrix, date, targets, note)
        else:
            lists = [_scored_file_rows(matrix, date, t, model_version, note) for t in targets]
            scored = pd.concat(lists, ignore_index=True)
    if out_file is None:
        console.print(f"Wrote the risk lists at {date:%Y-%m-%d} to the application database: " + "; ".join(
            f"{name} version {version}, {rows:,} households" for name, version, rows in written))
        return
    scoring.write(scored, out_file)
    console.print(f"Scored {len(scored):,} households at {date:%Y-%m-%d} with " + ", ".join(
        f"{t} version {v}" for t, v in scored[["target", "model_version"]].drop_duplicates().itertuples(index=False))
        + f"; wrote {out_file}")


def _gated(name: str, version: str):
    """The caseworkers' list: only an approved champion passes."""
    from ethics.approval import NotServable, servable

    try:
        servable(name, version)
    except NotServable as exc:
        raise UserError(f"{exc}; pass --model-version and --out FILE to score it for evaluation only") from None


def _scored_file_rows(matrix: Path, date, target: str, model_version: str | None, note):
    from ethics.explain import reasons as explain_reasons
    from ethics.explain import sentences
    from features.build import key_map_path
    from models import score as scoring
    from models import tracking
    from models.experiment import REGISTERED_NAMES

    tracking.configure()
    name = REGISTERED_NAMES[target]
    version = tracking.resolve_version(name, model_version)
    if model_version in (None, tracking.CHAMPION):
        _gated(name, version)
    model = tracking.load_model(name, version)
    note(f"Scoring and explaining with {name} version {version}")
    rows = scoring.rows_at(matrix, date, model.features)
    reasons = sentences(explain_reasons(model, rows)) if len(rows) else None
    return _identified(scoring.score(model, rows, version, reasons), key_map_path(matrix))


def _score_into_database(matrix: Path, date, targets: list[str], note) -> list[tuple[str, str, int]]:
    """Each target's approved champion over the whole borough, written to the application database; the
    month's earlier list from the same version is replaced in one transaction."""
    from ethics.approval import NotServable
    from models import tracking
    from models.experiment import REGISTERED_NAMES
    from serving import registry, risk_lists
    from serving.batch import month_lists
    from serving.database import DatabaseUnavailable

    tracking.configure()
    served = []
    for target in targets:
        version = tracking.resolve_version(REGISTERED_NAMES[target], tracking.CHAMPION)
        try:
            served.append(registry.approved(target, version))
        except NotServable as exc:
            raise UserError(f"{exc}; pass --model-version and --out to score it for evaluation only") from None
    frame = month_lists(matrix, date, served, note)
    note("Writing the risk lists to the application database")
    try:
        risk_lists.replace(frame)
    except DatabaseUnavailable as exc:
        raise UserError(str(exc)) from None
    counts = frame.groupby(["target", "model_version"]).size()
    return [(REGISTERED_NAMES[t], v, int(n)) for (t, v), n in counts.items()]


def _identified(scored, key_map: Path):
    """The risk list as a council acts on it: the pseudonym replaced by the property's UPRN. Only the
    application does this, never the modelling code."""
    import pandas as pd

    uprns = pd.read_parquet(key_map, columns=["household_key", "uprn"]).drop_duplicates("household_key")
    uprns = uprns.set_index("household_key")["uprn"]
    identified = scored.assign(household_key=uprns.reindex(scored["household_key"]).to_numpy(dtype="float64"))
    return identified.rename(columns={"household_key": "uprn"}).astype({"uprn": "int64"})


@app.command()
@friendly_errors
def evaluate(
    data: Path = _data_option(),
    target: str = typer.Option(..., help="homelessness or fuel_poverty."),
    model_version: str = typer.Option(None, help="N, latest or challenger (default: the approved champion)."),
    features_file: Path = typer.Option(None, "--features", help="Matrix from `upstream features`."),
):
    """Evaluate a registered version on months after its training data (a later extract)."""
    from features.sources import extracts_fingerprint
    from models.evaluate import evaluate_version

    exp = _experiment(target, None)
    data = _borough(data)
    with _progress() as progress:
        task = progress.add_task("Preparing features", total=None)
        matrix = _matrix_for(data, features_file, lambda m: progress.update(task, description=m))
        progress.update(task, description="Evaluating")
        version, table = evaluate_version(matrix, exp.target, model_version, extracts_fingerprint(data),
                                          _oracle_for(data, exp.target, matrix))  # at the version's own capacity
    _metrics_view(f"{exp.target} version {version} on later months ({table.attrs['months']} as-of dates), at its "
                  f"capacity of {table.attrs['capacity']} a month", table, table.attrs["capacity"])


@app.command()
@friendly_errors
def report(
    data: Path = _data_option(),
    target: str = typer.Option(..., help="homelessness or fuel_poverty."),
    model_version: str = typer.Option("latest", help="N, latest, challenger or champion."),
    out_dir: Path = typer.Option(..., "--out", help="Folder for the report (HTML, PDF), fairness.json, "
                                                    "predictions.parquet, model_card.json and atrs.json."),
    features_file: Path = typer.Option(None, "--features", help="The matrix the version was trained on."),
    replace_approved: bool = typer.Option(False, "--replace-approved",
                                          help="Replace the report the board approved this version on: if "
                                               "the new one differs, the version stops being served until the "
                                               "board approves again."),
):
    """The ethics board's report on a version: fairness at capacity on its held-out test windows, what drives
    its scores, its model card and ATRS record, as HTML and PDF with machine-readable twins."""
    import pandas as pd
    from mlflow import MlflowClient

    from ethics.approval import latest_decision, report_fingerprint
    from ethics.report import log_report, report_frame, version_facts, write_documents, write_report
    from models import tracking
    from models.experiment import REGISTERED_NAMES
    from models.pipeline import held_out_path

    exp = _experiment(target, None)
    data = _borough(data)
    tracking.configure()
    name = REGISTERED_NAMES[exp.target]
    version = tracking.resolve_version(name, model_version)
    decision = latest_decision(name, version)
    if decision is not None and decision.decision == "approve" and not replace_approved:
        raise UserError(f"{name} version {version} was approved by {decision.decided_by} on this report: a new one "
                        "that differs would withdraw it from caseworkers until the board approves again (an "
                        "identical one changes nothing). Pass --replace-approved to do that")
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir} is a file: give a folder for the report")
    held_out = held_out_path(name, version)
    if not held_out.exists():
        raise UserError(f"no held-out predictions for {name} version {version} in {held_out.parent}: `upstream "
                        "train` writes them there (they hold household pseudonyms, so they never go to MLflow)")
    model = tracking.load_model(name, version)
    capacity = int(model.info.get("capacity", exp.capacity))
    with _progress() as progress:
        task = progress.add_task("Preparing features", total=5)
        matrix = _matrix_for(data, features_file, lambda m: progress.update(task, description=m))
        progress.update(task, completed=1, description="Fairness at capacity, with intervals and "
                                                        "group-aware thresholds")
        frame = report_frame(pd.read_parquet(held_out), matrix)
        numbers = write_report(frame, capacity, exp.target, version, out_dir)
        progress.update(task, completed=2, description="SHAP: what drives the scores")
        facts = version_facts(name, version, model, frame, numbers, matrix)
        facts.ceiling = _ceiling_for(data, facts)
        progress.update(task, completed=3, description="Model card, ATRS record, HTML and PDF")
        write_documents(facts, out_dir)
        progress.update(task, completed=4, description="Logging the report to MLflow")
        log_report(out_dir, MlflowClient().get_model_version(name, version).run_id)
        progress.update(task, completed=5)
    view = RichTable(title=f"{name} version {version}: recall (true positive rate) at capacity {capacity} by group")
    for column in ("attribute", "group", "households", "recall", "95% interval", "ratio to reference", "verdict"):
        view.add_column(column, justify="left" if column in ("attribute", "group", "verdict") else "right")
    for g in numbers["groups"]:
        if g["suppressed"]:
            view.add_row(g["attribute"], g["group"], "<10", "", "", "", "suppressed")
            continue
        ci = g.get("tpr_wilson") or (None, None)  # as the report: Wilson's, over households in need
        view.add_row(g["attribute"], g["group"] + (" (reference)" if g["reference"] else ""), f"{g['households']:,}",
                     "" if g["tpr"] is None else f"{g['tpr']:.3f}",
                     "" if None in ci else f"{ci[0]:.3f}-{ci[1]:.3f}",
                     "" if g["tpr_ratio"] is None else f"{g['tpr_ratio']:.2f}",
                     ("[red]clear disparity" if g.get("clear_disparity") else
                      ("[yellow]" if g["verdict"] == "disparity" else "") + g["verdict"]))
    out.print(view)
    console.print(f"Wrote the report to {out_dir / 'report.html'} (and report.pdf), with fairness.json, "
                  "predictions.parquet, model_card.json and atrs.json; logged all but the twin (it holds "
                  "pseudonyms; its SHA-256 goes instead) to the version's MLflow run")
    fingerprint = report_fingerprint(name, version)
    console.print(f"Report fingerprint: [bold]{fingerprint}[/] (the board approves with --report-sha256 "
                  f"{fingerprint[:12]}, or from the dashboard, which shows it beside the report)")


@app.command()
@friendly_errors
def approve(
    model: str = typer.Option(..., help="Registered model (homelessness-risk, fuel-poverty-risk) or its target."),
    version: str = typer.Option(..., help="N or latest."),
    decision: str = typer.Option(..., help="approve or reject."),
    by: str = typer.Option(..., help="Who decided (the ethics board member or chair)."),
    note: str = typer.Option(..., help="Why: the board's reasons, in a sentence or two."),
    demo: bool = typer.Option(False, "--demo", help="Mark the decision as a demo (synthetic data only)."),
    report_sha256: str = typer.Option(None, "--report-sha256", help="The fingerprint of the report the board "
                                      "read (`upstream report` and the dashboard show it; 12 characters or more): "
                                      "refused if the report has changed since."),
    overturn_rejection: bool = typer.Option(False, "--overturn-rejection", help="Approve a report the board "
                                            "rejected (both decisions stay on the record)."),
):
    """Record the ethics board's decision on a version's report; approving makes it the champion."""
    from ethics.approval import NotServable, decide, latest_decision
    from models import tracking
    from models.experiment import REGISTERED_NAMES

    tracking.configure()
    name = REGISTERED_NAMES.get(model.replace("-", "_"), model)
    if name not in REGISTERED_NAMES.values():
        raise UserError(f"unknown model {model!r}; choose from {', '.join(REGISTERED_NAMES.values())}")
    number = tracking.resolve_version(name, version)
    before = latest_decision(name, number)
    try:
        record = decide(name, number, decision, by, note, demo, read=report_sha256, overturn=overturn_rejection)
    except NotServable as exc:
        raise UserError(str(exc)) from None
    if before is not None and (before.decision, before.report_sha256) == (decision, record.report_sha256):
        console.print(f"Note: {before.decided_by} had already {decision}d this report on {before.at:%d %B %Y}; "
                      "this decision is recorded as well.")
    outcome = "is now the champion" if decision == "approve" else "will not be served"
    console.print(f"{'Demo decision: ' if demo else ''}{name} version {number} "
                  f"{'approved' if decision == 'approve' else 'rejected'} by {record.decided_by}; "
                  f"report {record.report_sha256[:12]}"
                  f"{'' if report_sha256 else ' (--report-sha256 checks it is the one the board read)'}; "
                  f"it {outcome}.")


@app.command()
@friendly_errors
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 to accept other machines)."),
    port: int = typer.Option(3000, help="Port to listen on."),
    features_file: Path = typer.Option(None, "--features", help="Feature build to look households up in "
                                                                 "(default: the latest under $UPSTREAM_HOME)."),
):
    """Serve the approved models over HTTP (BentoML): /score, /explain, /models, /readyz, /metrics."""
    import os
    import shutil

    from serving.startup import CannotStart, preflight
    from upstream.config import project_root

    if features_file is not None:
        os.environ["UPSTREAM_FEATURES"] = str(features_file.resolve())
    try:
        console.print(preflight())
    except CannotStart as exc:
        raise UserError(f"cannot start: {exc}") from None
    bentoml = shutil.which("bentoml", path=str(Path(sys.executable).parent)) or "bentoml"
    console.print(f"Serving on http://{host}:{port} (API tokens: `upstream tokens create`)")
    sys.stdout.flush()
    os.execv(bentoml, [bentoml, "serve", "serving.service:Upstream", "--host", host, "--port", str(port),
                       "--working-dir", str(project_root(Path(__file__).parent))])


def _actor(tool: str) -> str:
    """Who made a change from the command line, for the audit log: the tool and the operating-system account
    (the one sudo was run from, if any)."""
    import getpass
    import os

    return f"{tool} ({os.environ.get('SUDO_USER') or getpass.getuser()})"


tokens_app = typer.Typer(help="API tokens for machine clients (stored hashed).", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")


@tokens_app.command("create")
@friendly_errors
def tokens_create(
    name: str = typer.Option(..., help="Who or what uses the token (a system, a team)."),
    role: str = typer.Option(..., help="service (score and explain) or monitor (health and model information)."),
):
    """Create an API token; it is printed once, as the last line, and stored only as its SHA-256."""
    from serving import tokens
    from serving.database import DatabaseUnavailable

    from serving.dashboard import audit

    try:
        token = tokens.create(name, role)
        audit.record(_actor("upstream tokens"), "admin", "created API token", detail=f"{name.strip()} ({role})")
    except DatabaseUnavailable as exc:
        raise UserError(str(exc)) from None
    console.print(f"Created a {role} token for {name.strip()}. Keep it secret: it is shown only now.")
    typer.echo(token)


@tokens_app.command("revoke")
@friendly_errors
def tokens_revoke(name: str = typer.Option(..., help="The name the token was created with.")):
    """Revoke a token at once (every live token of that name): the next request with it is refused."""
    from serving import tokens
    from serving.dashboard import audit

    count = tokens.revoke(name)
    audit.record(_actor("upstream tokens"), "admin", "revoked API token", detail=name.strip())
    console.print(f"Revoked {count} token{'s' if count > 1 else ''} called {name.strip()}.")


@tokens_app.command("list")
@friendly_errors
def tokens_list():
    """Every API token: name, role, when it was created, and whether it is live or revoked (never the token)."""
    from serving import tokens

    view = RichTable(title="API tokens")
    for column in ("name", "role", "created (UTC)", "state"):
        view.add_column(column)
    for t in tokens.everyone():
        view.add_row(t["name"], t["role"], f"{t['created_at']:%Y-%m-%d %H:%M}", "revoked" if t["revoked"] else "live")
    out.print(view)


users_app = typer.Typer(help="Dashboard accounts (passwords stored as argon2 hashes).", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
@friendly_errors
def users_add(
    name: str = typer.Argument(..., help="The user name they sign in with."),
    role: str = typer.Option(..., help="caseworker, team-manager, analyst, ethics-board or admin."),
    ward: list[str] = typer.Option(None, "--ward", help="A ward whose households they see (repeat for more); "
                                                        "caseworkers and team managers need at least one."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
):
    """Add a dashboard account; the password is read from standard input, never the command line."""
    from serving.dashboard import accounts, audit, lists
    from serving.database import DatabaseUnavailable

    if not password_stdin:
        raise UserError("pass --password-stdin and send the password on standard input (a command line is "
                        "visible to other users and kept in shell history)")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = accounts.add(name, role, password, ward or [], lists.known_wards())
        audit.record(_actor("upstream users"), "admin", "added user", detail=f"{user.name} ({user.role})")
    except DatabaseUnavailable as exc:
        raise UserError(str(exc)) from None
    wards = f" in {', '.join(user.wards)}" if user.wards else ""
    console.print(f"Added {user.name}, {user.role}{wards}.")


def _account(name: str) -> dict:
    from serving.dashboard import accounts

    found = next((u for u in accounts.everyone() if u["name"] == name.strip()), None)
    if found is None:
        raise UserError(f"no dashboard account is called {name!r} (the dashboard's Users page lists them)")
    return found


@users_app.command("disable")
@friendly_errors
def users_disable(name: str = typer.Argument(..., help="The user name of someone who has left.")):
    """Disable an account: signed out at once, no more sign-ins; the record stays for the audit log."""
    from serving.dashboard import accounts, audit

    accounts.disable(_account(name)["id"])
    audit.record(_actor("upstream users"), "admin", "disabled user", detail=name.strip())
    console.print(f"Disabled {name.strip()}: signed out, and no sign-in until a new password is set.")


@users_app.command("set-password")
@friendly_errors
def users_set_password(
    name: str = typer.Argument(..., help="The user name."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
):
    """Set a new password (the account is unlocked, and enabled again if it was disabled)."""
    from serving.dashboard import accounts, audit

    if not password_stdin:
        raise UserError("pass --password-stdin and send the password on standard input (a command line is "
                        "visible to other users and kept in shell history)")
    accounts.set_password(_account(name)["id"], sys.stdin.readline().rstrip("\r\n"))
    audit.record(_actor("upstream users"), "admin", "set user password", detail=name.strip())
    console.print(f"Set a new password for {name.strip()}; they are signed out everywhere.")


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
