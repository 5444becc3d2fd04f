"""``zoo bench``: compare models x data sets x presets side by side, with baselines.

Like the rest of the CLI, importing this module imports nothing heavy.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from zoo.cli.options import (
    BATCH_SIZE,
    EPOCHS,
    OFFLINE,
    SEED_ENSEMBLE,
    SPLIT_SEED,
    SUMMARY_JSON,
    TEST_SIZE,
    TRACK,
    VALIDATION_SIZE,
    cluster_options,
    data_options,
    folds,
    from_options,
    patience,
    resume,
    runs_dir,
    seed,
)

if TYPE_CHECKING:
    from zoo.app.tracking import Tracker

RUN_OPTIONS = ("epochs", "batch_size", "seed", "split_seed", "test_size", "validation_size")
RUN_OPTIONS += ("target", "task", "patience", "folds", "seed_ensemble")


@click.command("bench")
@click.option(
    "--config",
    "-c",
    "grid_file",
    type=click.Path(dir_okay=False),
    help="A grid TOML file: an experiment file whose model, data and preset may be lists.",
)
@click.option("--models", "-m", default=None, help="Models, comma-separated; wildcards work.")
@click.option("--data", "-d", default=None, help="Data sets, comma-separated; wildcards work.")
@click.option(
    "--presets",
    "-p",
    default=None,
    help="Presets, comma-separated (default: each model's own, else the task's).",
)
@data_options(grid=True)
@click.option(
    "--repeats",
    "-r",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Trainings per combination, seeds base seed + 0, 1, ... (with --seed-ensemble N: "
    "+ 0, N, 2N, ...).",
)
@EPOCHS
@BATCH_SIZE
@seed("Seed of the first repeat.")
@SPLIT_SEED
@TEST_SIZE
@VALIDATION_SIZE
@folds(
    "Cross-validate each training: one model per fold of the training part (that fold its "
    "validation part), averaged into its model. N times the training."
)
@SEED_ENSEMBLE
@patience()
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a hyperparameter wherever it applies (data.rows=200). Repeatable.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes (1: all in this process).",
)
@click.option(
    "--baselines/--no-baselines",
    default=True,
    show_default=True,
    help="scikit-learn reference rows (linear model, gradient boosting).",
)
@click.option(
    "--ensemble",
    metavar="top-K",
    default="",
    help="Average each data set's K best runs (K >= 2) into one more row, saved as a run "
    "that predict and evaluate take.",
)
@runs_dir("Where the bench folder is created.")
@resume("Run what an earlier bench folder has no result for, and its failed combinations.")
@click.option(
    "--skip-failed",
    is_flag=True,
    help="With --resume: keep the failed combinations as they are (do not run them again).",
)
@TRACK
@cluster_options
@OFFLINE
@SUMMARY_JSON
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.pass_context
def bench_command(ctx: click.Context, **options: Any) -> None:
    """Train every compatible combination and rank them per data set.

    \b
    Examples:
      zoo bench --models mlp,linear,cnn --data housing,diabetes,digits --epochs 50
      zoo bench -m '*' -d iris,wine --repeats 3 --jobs 2
      zoo bench -c grid.toml --track sqlite:///mlflow.db
      zoo bench -m mlp,linear -d housing,prices.csv --target price --ignore id
      zoo bench -m mlp,linear,resnet -d wine --ensemble top-2
      zoo bench --resume runs/bench-20260101-120000

    --target, --task and --ignore go to each data set of the grid that takes them (a CSV
    file), and are an error only when none does.
    """
    from zoo.app.bench import BenchServices, BenchSpec, Resume, run_bench

    resume = None
    if options["resume"]:
        _check_resume(ctx)
        spec = None
        resume = Resume(options["resume"], skip_failed=options["skip_failed"])
    elif options["skip_failed"]:
        raise click.UsageError("--skip-failed goes with --resume FOLDER.", ctx)
    else:
        spec = BenchSpec(**_spec_values(ctx, options))
    cluster = from_options(options["cluster"], options["resources_per_run"])
    registry = _registry()
    if not options["quiet"]:
        click.echo("zoo: planning the bench...", err=True)
    progress = _Progress(options["jobs"], quiet=options["quiet"])
    try:
        outcome = run_bench(
            spec,
            registry=registry,
            runs_dir=options["runs_dir"],
            resume=resume,
            jobs=options["jobs"],
            services=BenchServices(
                tracker=_open_tracker(options["track"]),
                cluster=cluster,
                on_start=progress.start,
                on_result=progress.update,
            ),
        )
    finally:
        progress.close()
    _report(outcome, as_json=options["as_json"])


def _spec_values(ctx: click.Context, options: dict[str, Any]) -> dict[str, Any]:
    from zoo.app.bench import read_grid_file
    from zoo.app.bench.spec import split_names

    given = {k for k in options if ctx.get_parameter_source(k) != ParameterSource.DEFAULT}
    values = read_grid_file(options["grid_file"]) if options["grid_file"] else {}
    names = {"models": "model", "data": "data", "presets": "preset"}
    spec: dict[str, Any] = {key: split_names(values.pop(name, None)) for key, name in names.items()}
    for key in names:
        if key in given:
            spec[key] = split_names(options[key])
    spec["repeats"] = options["repeats"] if "repeats" in given else values.pop("repeats", 1)
    spec["baselines"] = (
        options["baselines"] if "baselines" in given else values.pop("baselines", True)
    )
    spec["sets"] = [*values.pop("set", []), *options["sets"]]
    spec["ignore"] = options["ignore"] if "ignore" in given else values.pop("ignore", "")
    spec["ensemble"] = options["ensemble"]
    values.pop("repeats", None), values.pop("baselines", None), values.pop("ignore", None)
    values.update({k: options[k] for k in RUN_OPTIONS if k in given})
    for key in ("runs_dir",):
        values.pop(key, None)
    spec["base"] = values
    for key, flag in (("models", "--models"), ("data", "--data")):
        if not spec[key]:
            raise click.UsageError(
                f"Missing {flag}: give {flag} NAME[,NAME...] or set "
                f"{names[key]} = [...] in a grid file (-c).",
                ctx,
            )
    return spec


def _open_tracker(uri: str | None) -> Tracker | None:
    """MLflow tracking, checked before anything runs (a missing mlflow is a one-line error)."""
    if not uri:
        return None
    from zoo.app.tracking import open_tracker

    return open_tracker(uri)


def _check_resume(ctx: click.Context) -> None:
    allowed = {"resume", "jobs", "track", "as_json", "quiet", "runs_dir", "cluster"}
    allowed |= {"resources_per_run", "skip_failed"}
    changed = [
        k
        for k in ctx.params
        if k not in allowed and ctx.get_parameter_source(k) != ParameterSource.DEFAULT
    ]
    if changed:
        raise click.UsageError(
            "--resume finishes a bench as it was planned; only --jobs, --track, --json, --quiet "
            f"and --skip-failed can be given with it (received --{changed[0].replace('_', '-')}).",
            ctx,
        )


def _registry() -> Any:
    from zoo.cli.options import registry_from

    return registry_from()


def _quiet_backend(jobs: int) -> None:
    if jobs > 1:
        return  # the workers import the framework, not this process
    context = click.get_current_context(silent=True)
    if not (context and (context.find_root().obj or {}).get("debug")):
        from zoo.app.run import quiet_backend

        quiet_backend()


class _Progress:
    """A progress bar over the grid on stderr (done / total, elapsed, time left), or one line
    per finished combination when stderr is not a terminal."""

    def __init__(self, jobs: int, *, quiet: bool) -> None:
        self.quiet, self.jobs, self.bar = quiet, jobs, None
        self.terminal = sys.stderr.isatty()

    def start(self, todo: int, total: int) -> None:
        """Called once the grid is planned and the folder made: TensorFlow may load now."""
        _quiet_backend(self.jobs)
        if self.quiet:
            return
        if todo < total:
            click.echo(f"zoo: {total - todo} of {total} combinations already done", err=True)
        if self.terminal and todo:
            from tqdm import tqdm

            self.bar = tqdm(
                total=todo, file=sys.stderr, unit="run", desc="bench", dynamic_ncols=True
            )

    def update(self, record: dict[str, Any], done: int, total: int) -> None:
        if self.quiet:
            return
        line = f"[{done}/{total}] {describe(record)}"
        if self.bar is not None:
            self.bar.write(f"zoo: {line}", file=sys.stderr)
            self.bar.update(1)
        else:
            click.echo(f"zoo: {line}", err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def describe(record: dict[str, Any]) -> str:
    """``mlp on iris (repeat 0): accuracy 0.9333 in 2.1 s`` or the failure."""
    what = f"{record['model']} on {record['data']} (repeat {record['repeat']})"
    if record["status"] != "ok":
        return f"{what}: {record['status']}: {record.get('error', '')}"
    from zoo.core.tasks import TASK_TABLE

    key = TASK_TABLE[record["task"]].key_metric
    value = record["metrics"].get(key)
    line = f"{what}: {key} {value:.4g} in {record.get('wall_s', 0):.1f} s"
    tracking = str(record.get("tracking", ""))
    return f"{line} (MLflow: {tracking})" if tracking.startswith("not logged") else line


def _report(outcome: Any, *, as_json: bool) -> None:
    from zoo.app.bench.export import leaderboards_text, to_json
    from zoo.core.errors import RunInterrupted, ZooError

    if as_json:
        click.echo(to_json(outcome.summary), nl=False)
    else:
        click.echo(leaderboards_text(outcome.summary))
    click.echo(f"zoo: bench saved in {outcome.folder}", err=True)
    counts = outcome.summary["counts"]
    if outcome.status == "failed":
        raise ZooError(
            f"Bench failed: {counts['failed']} of {counts['combinations']} combination(s) "
            "failed (their errors are in the summary); the other results are kept. Run the "
            f"failed ones again with 'zoo bench --resume {outcome.folder}'."
        )
    if outcome.status != "complete":
        error = RunInterrupted if outcome.status == "interrupted" else ZooError
        raise error(
            f"Bench {outcome.status}: {counts['missing']} combination(s) not run; the finished "
            f"ones are kept. Continue with 'zoo bench --resume {outcome.folder}'."
        )


COMMANDS = (bench_command,)
