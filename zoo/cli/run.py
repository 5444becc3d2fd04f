"""The ``zoo`` commands that train or use trained models: run, predict, evaluate, runs.

Like the rest of the CLI, this module imports nothing heavy: each command imports Keras only
once its arguments have been checked.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from zoo.cli.options import (
    BATCH_SIZE,
    EPOCHS,
    OFFLINE,
    SEED_ENSEMBLE,
    SPLIT_SEED,
    TEST_SIZE,
    TRACK,
    VALIDATION_SIZE,
    data_options,
    folds,
    patience,
    registry_from,
    resume,
    runs_dir,
    seed,
)

if TYPE_CHECKING:
    from zoo.app.run import ExecuteOptions
    from zoo.app.tracking import Tracker
    from zoo.catalog.registry import Registry


ALLOW_UNSAFE = click.option(
    "--allow-unsafe",
    is_flag=True,
    help="Let the model file run code when loading (only for files you trust).",
)
ALLOW_UNVERIFIED = click.option(
    "--allow-unverified",
    is_flag=True,
    help="Load a model whose checksum cannot be verified (only for files you trust).",
)


def _registry() -> Registry:
    return registry_from()


def _quiet_backend() -> None:
    """Import Keras now, without TensorFlow's native start-up notices (unless debugging)."""
    context = click.get_current_context(silent=True)
    if not (context and (context.find_root().obj or {}).get("debug")):
        from zoo.app.run import quiet_backend

        quiet_backend()


def _echo_json(payload: Any) -> None:
    from zoo.cli.render import to_json

    click.echo(to_json(payload))


@click.command()
@click.option(
    "--config",
    "-c",
    "config_file",
    type=click.Path(dir_okay=False),
    help="An experiment TOML file; flags given here override it.",
)
@click.option("--model", "-m", default=None, help="Model name (see 'zoo list models').")
@click.option("--data", "-d", default=None, help="Data set name (see 'zoo list datasets').")
@click.option(
    "--preset",
    "-p",
    default=None,
    help="Loss/optimizer preset; default: the model's own (tabular networks: adamw), else "
    "the one for the data set's task.",
)
@data_options()
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a hyperparameter, e.g. --set hidden=64,64 --set "
    "preset.learning_rate=0.01. Repeatable.",
)
@TEST_SIZE
@VALIDATION_SIZE
@SPLIT_SEED
@folds(
    "Cross-validate: train one model per fold of the training part (that fold its validation "
    "part) and average them into the run's model. N times the training."
)
@EPOCHS
@BATCH_SIZE
@seed("Seeds weights and shuffling; same seed, same machine, same metrics.")
@SEED_ENSEMBLE
@patience()
@click.option("--reduce-lr", is_flag=True, help="Halve the learning rate on plateaus.")
@click.option("--tensorboard", is_flag=True, help="Write TensorBoard logs in the run folder.")
@click.option(
    "--distribute",
    type=click.Choice(["mirrored", "multi-worker"]),
    default=None,
    help="Data-parallel training: over this machine's devices (mirrored) or the workers "
    "TF_CONFIG describes (multi-worker); --batch-size is the global batch.",
)
@runs_dir("Where the run folder is written.")
@resume("Continue an interrupted run folder.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the resolved configuration and check it, without training.",
)
@click.option("--no-save", is_flag=True, help="Do not write a run folder.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the result as one JSON object on stdout (logs go to stderr).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@TRACK
@ALLOW_UNVERIFIED
@OFFLINE
@click.pass_context
def run(
    ctx: click.Context,
    config_file: str | None,
    sets: tuple[str, ...],
    resume: str | None,
    dry_run: bool,
    no_save: bool,
    as_json: bool,
    quiet: bool,
    track: str | None,
    allow_unverified: bool,
    **options: Any,
) -> None:
    """Train a model on a data set, evaluate on the held-out test part, save a run folder.

    \b
    Examples:
      zoo run --model mlp --data housing
      zoo run -m mlp -d housing --set hidden=64,64 --epochs 200 --patience 20
      zoo run -c experiment.toml --seed 3
      zoo run -m mlp -d housing --folds 5 --patience 20
      zoo run -m mlp -d housing --seed-ensemble 5
      zoo run --resume runs/20260101-120000-mlp-housing
    """
    from zoo.app.run import plan_run
    from zoo.core.config import RunConfig

    given = {
        k: v for k, v in options.items() if ctx.get_parameter_source(k) != ParameterSource.DEFAULT
    }
    registry = _registry()
    config = RunConfig(**_run_values(ctx, registry, _starting_values(config_file, resume, given)))
    # Every name and override is resolved and checked once, before TensorFlow loads.
    checked = plan_run(config, registry, sets, resume)  # a resumed one checked as read back
    if dry_run:
        _show_plan(checked)
        return
    from zoo.app.run import ExecuteOptions

    tracker = _open_tracker(track)
    options = ExecuteOptions(save=not no_save, resume=resume, allow_unverified=allow_unverified)
    _train_and_report(checked, registry, options, as_json=as_json, quiet=quiet, tracker=tracker)


def _run_values(ctx: click.Context, registry: Any, values: dict[str, Any]) -> dict[str, Any]:
    """RunConfig's keywords: model and data required, ``--ignore`` folded into the data set's
    parameters."""
    ignore = values.pop("ignore", None)
    for required in ("model", "data"):
        if not values.get(required):
            raise click.UsageError(
                f'Missing --{required}: give --{required} NAME or set {required} = "NAME" in '
                "a config file (-c).",
                ctx,
            )
    if ignore:
        from zoo.plan.data_choice import fold_option

        values["data_params"] = fold_option(
            registry, values["data"], values.get("data_params"), "ignore", ignore
        )
    return values


def _open_tracker(uri: str | None) -> Tracker | None:
    """MLflow tracking, checked before training (a missing mlflow is a one-line error)."""
    if not uri:
        return None
    from zoo.app.tracking import open_tracker

    return open_tracker(uri)


def _starting_values(
    config_file: str | None, resume: str | None, given: dict[str, Any]
) -> dict[str, Any]:
    from zoo.plan.overrides import merge, read_config_file

    if resume:
        from zoo.app.saved import load_run

        saved = load_run(resume).config
        saved["runs_dir"] = str(Path(resume).parent)
        allowed = {"epochs", "patience", "reduce_lr", "tensorboard"}
        changed = sorted(set(given) - allowed)
        if changed:
            raise click.UsageError(
                f"--resume continues a run as it was configured; only --epochs, --patience, "
                f"--reduce-lr and --tensorboard can change (received --{changed[0]})."
            )
        return merge(saved, given)
    file_values = read_config_file(config_file) if config_file else {}
    return merge(file_values, given)


def _show_plan(checked: Any) -> None:
    from zoo.cli import render

    _echo_json(checked.to_dict())
    columns = checked.data.metadata.get("columns")
    if columns:
        click.echo(render.roles_table(list(columns)), err=True)
    for line in render.data_notes(dict(checked.data.metadata)):
        if not line.startswith("zoo: column"):
            click.echo(line, err=True)
    click.echo(
        f"zoo: configuration is valid: model {checked.model.qualified_name} fits data "
        f"{checked.data.qualified_name} with preset {checked.preset.qualified_name}.",
        err=True,
    )


def _train_and_report(
    checked: Any,
    registry: Any,
    options: ExecuteOptions,
    *,
    as_json: bool,
    quiet: bool,
    tracker: Tracker | None = None,
) -> None:
    """Train the plan (``options`` saying whether to save, what to resume), report as asked:
    the start line, progress on a terminal, the metrics, the tracker's run."""
    from dataclasses import replace

    from zoo.app.run import train_plan
    from zoo.cli import render

    def announce(first_epoch: int) -> None:  # once training really starts, not before
        click.echo(render.start_line(checked, first_epoch, resumed=bool(options.resume)), err=True)

    if not quiet:  # columns left out and rows dropped: never silently
        for line in render.data_notes(dict(checked.data.metadata)):
            click.echo(line, err=True)

    progress = None if quiet or not sys.stderr.isatty() else _progress
    options = replace(options, progress=progress, on_start=announce)
    result = train_plan(checked, registry, options)
    if tracker:
        run_id = tracker.log_result(checked, result)
        click.echo(f"zoo: logged to MLflow run {run_id} at {tracker.uri}", err=True)
    for line in render.notes(checked, result):
        click.echo(line, err=True)
    if as_json:
        _echo_json(render.result_json(checked, result))
        return
    click.echo(render.metrics_table(result.metrics))
    if result.folder:
        click.echo(f"zoo: run saved in {result.folder}", err=True)


def _progress(epochs: int) -> Any:
    from zoo.app.run import progress_bar

    return progress_bar(epochs)


@click.command()
@click.argument("run_folder", type=click.Path())
@click.option(
    "--input",
    "-i",
    "input_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="CSV file of raw inputs with a header row.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write predictions here (default: stdout).",
)
@ALLOW_UNSAFE
@ALLOW_UNVERIFIED
def predict(
    run_folder: str, input_file: str, output: str | None, allow_unsafe: bool, allow_unverified: bool
) -> None:
    """Predict with a saved run's model on raw inputs from a CSV file.

    Class predictions come back as the original labels, with one probability column per class.
    """
    from zoo.app.saved import check_output, load_run, predict_file

    saved = load_run(run_folder, allow_unsafe=allow_unsafe, allow_unverified=allow_unverified)
    check_output(saved, input_file, output)  # before TensorFlow loads
    _quiet_backend()
    text = predict_file(saved, _registry(), Path(input_file), Path(output) if output else None)
    if text is not None:
        click.echo(text, nl=False)
    else:
        click.echo(f"zoo: predictions written to {output}", err=True)


@click.command()
@click.argument("run_folder", type=click.Path())
@click.option(
    "--data", "-d", default=None, help="Data set to evaluate on (default: the run's own test part)."
)
@click.option("--target", "-t", default=None, help="Target column, when --data is a CSV file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--no-save",
    is_flag=True,
    help="Write nothing into the run folder (default: evaluation.json and plots/ there; "
    "under evaluations/NAME/ for --data).",
)
@ALLOW_UNSAFE
@ALLOW_UNVERIFIED
def evaluate(
    run_folder: str,
    data: str | None,
    target: str | None,
    as_json: bool,
    no_save: bool,
    allow_unsafe: bool,
    allow_unverified: bool,
) -> None:
    """Score a saved run's model: on its own test part, or on another data set (all rows).

    The detailed evaluation (confusion matrix, per-class scores, ROC and precision-recall
    curves, residuals) goes into the run folder as evaluation.json and plots/*.png.
    """
    from zoo.app.saved import evaluate_run, load_run
    from zoo.cli import render

    saved = load_run(run_folder, allow_unsafe=allow_unsafe, allow_unverified=allow_unverified)
    _quiet_backend()
    part, metrics = evaluate_run(saved, _registry(), data=data, target=target, save=not no_save)
    if as_json:
        _echo_json({"run": str(saved.path), "part": part, "metrics": metrics})
        return
    click.echo(render.metrics_table(metrics))
    click.echo(f"zoo: evaluated on {part}", err=True)


STATUSES = (
    "running",
    "complete",
    "failed",
    "interrupted",
    "crashed",
    "broken",
    "incomplete",
    "unknown",
)


@click.command()
@click.option("--runs-dir", type=click.Path(file_okay=False), default="runs", show_default=True)
@click.option("--model", "-m", default=None, help="Only folders of this model.")
@click.option("--data", "-d", default=None, help="Only folders of this data set (or file stem).")
@click.option(
    "--status",
    type=click.Choice(STATUSES),
    default=None,
    metavar="STATUS",
    help=f"Only this status: {', '.join(STATUSES)}.",
)
@click.option(
    "--kind", type=click.Choice(["run", "bench", "tune"]), default=None, help="Only this kind."
)
@click.option(
    "--sort",
    default=None,
    metavar="NAME",
    help="Order by a column (started, model, data, status, epochs, ...) or a test metric "
    "(mse, r2, accuracy, ...; best first).",
)
@click.option(
    "--prune",
    is_flag=True,
    help="Remove the folders the filters select (a filter is required), after confirming.",
)
@click.option("--yes", "-y", is_flag=True, help="Prune without asking.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def runs(
    runs_dir: str,
    model: str | None,
    data: str | None,
    status: str | None,
    kind: str | None,
    sort: str | None,
    prune: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """List past runs, benches and searches: time, model, data, key metric and status, oldest
    first; filter, sort, or prune them.

    \b
    Examples:
      zoo runs --model mlp --sort mse
      zoo runs --prune --status failed
    """
    from zoo.cli import render
    from zoo.runs.listing import RunFilter, list_runs, select

    chosen = RunFilter(model=model, data=data, status=status, kind=kind)
    if prune and not chosen:
        raise click.UsageError(
            "--prune removes the folders a filter selects; give --status, --model, --data or "
            "--kind (e.g. zoo runs --prune --status failed)."
        )
    found = select(list_runs(Path(runs_dir)), chosen, sort)
    if prune:
        _prune(Path(runs_dir), found, yes=yes)
        return
    if as_json:
        _echo_json(found)
    elif found:
        click.echo(render.runs_table(found))
    elif chosen:
        click.echo(f"No folders in {runs_dir}/ match those filters.", err=True)
    else:
        click.echo(
            f"No runs in {runs_dir}/ yet. Start one with 'zoo run --model mlp --data housing'.",
            err=True,
        )


def _prune(runs_dir: Path, found: list[dict[str, Any]], *, yes: bool) -> None:
    """Remove the selected folders once the user agrees; say what went and what stayed."""
    from zoo.runs.listing import prune

    if not found:
        click.echo(f"zoo: no folders in {runs_dir}/ match; nothing removed.", err=True)
        return
    names = ", ".join(row["folder"] for row in found)
    if not yes and not click.confirm(f"Remove {len(found)} folder(s) from {runs_dir}/: {names}?"):
        click.echo("zoo: nothing removed.", err=True)
        raise SystemExit(1)
    removed, kept = prune(runs_dir, found)
    for name in removed:
        click.echo(f"removed {runs_dir / name}")
    for reason in kept:
        click.echo(f"zoo: kept {reason}", err=True)


COMMANDS = (run, predict, evaluate, runs)
