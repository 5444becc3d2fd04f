"""``zoo tune``: hyperparameter search with Optuna, from the command line.

Importing this module imports nothing heavy: Optuna and Keras load only once the arguments
have been checked.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import click

from zoo.app.tune.request import DEFAULT_PATIENCE
from zoo.cli.options import (
    BATCH_SIZE,
    OFFLINE,
    SPLIT_SEED,
    SUMMARY_JSON,
    TEST_SIZE,
    TRACK,
    cluster_options,
    data_options,
    folds,
    from_options,
    patience,
    resume,
    runs_dir,
    seed,
)
from zoo.core.config import MAX_SEED_ENSEMBLE

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | None) -> float | None:
    """``90``, ``90s``, ``10m``, ``1.5h`` -> seconds.

    Raises:
        click.BadParameter: anything else.
    """
    if text is None:
        return None
    match = DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise click.BadParameter(
            f"expected a positive duration such as 90s, 10m or 1h; received {text!r}.",
            param_hint="--timeout",
        )
    return float(match.group(1)) * UNIT_S[match.group(2)]


def _registry() -> Any:
    from zoo.cli.options import registry_from

    return registry_from()


@click.command("tune")
@click.option("--model", "-m", default=None, help="Model to tune (see 'zoo list models').")
@click.option("--data", "-d", default=None, help="Data set (see 'zoo list datasets').")
@click.option(
    "--preset", "-p", default=None, help="Preset; default: the model's own, else the task's."
)
@data_options()
@click.option(
    "--trials",
    "-n",
    type=int,
    default=20,
    show_default=True,
    help="Trials to run (on --resume: more trials).",
)
@click.option("--timeout", default=None, help="Start no trial after this long: 90s, 10m, 1h.")
@click.option(
    "--space",
    "space_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="A TOML file of ranges and choices per key, e.g. "
    "learning_rate = {low = 1e-4, high = 1e-2, log = true}.",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Fix a key (never searched), e.g. --set hidden=64,32. Repeatable.",
)
@click.option("--jobs", "-j", type=int, default=1, show_default=True, help="Worker processes.")
@seed("Seeds every trial's training and the sampler.")
@click.option("--epochs", type=click.IntRange(min=1), default=200, show_default=True)
@patience(
    "Each trial stops when its validation loss has not improved for N epochs.",
    default=DEFAULT_PATIENCE,
)
@BATCH_SIZE
@click.option(
    "--reduce-lr",
    is_flag=True,
    help="Every trial halves its learning rate on plateaus (as zoo run --reduce-lr); "
    "settles noisy validation curves on small data.",
)
@SPLIT_SEED
@TEST_SIZE
@click.option(
    "--validation-size",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.2,
    show_default=True,
    help="Fraction of the training part that trials are selected on (zoo run's default is "
    "0.1; selection needs more).",
)
@folds(
    "Cross-validate each trial on N folds of the training part (replaces --validation-size); "
    "the configurations scored on the test part average their fold models. Worth it on small "
    "data sets, at N times the cost."
)
@click.option(
    "--storage",
    metavar="URL",
    default=None,
    help="Optuna storage URL (default: SQLite study.db in the tune folder); with --resume, "
    "the storage of a study kept outside its folder.",
)
@resume("Continue the study of an earlier tune folder.")
@runs_dir("Where the tune folder is written.")
@TRACK
@cluster_options
@click.option(
    "--ensemble",
    metavar="top-K",
    default="",
    help="Also average the K best trials (K >= 2, ranked by validation loss) into one run, "
    "scored beside the best trial and saved for predict and evaluate.",
)
@click.option(
    "--refit",
    type=click.IntRange(0, MAX_SEED_ENSEMBLE),
    default=0,
    metavar="N",
    help="Score each chosen configuration (best, --ensemble, default) as zoo run "
    "--seed-ensemble N trains it: N models on the training part (no folds), averaged. "
    "0: as its trials trained it.",
)
@click.option("--no-baselines", is_flag=True, help="Skip the scikit-learn baselines.")
@OFFLINE
@SUMMARY_JSON
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def tune(ctx: click.Context, **options: Any) -> None:
    """Search hyperparameters with Optuna; select on validation, score the test part once.

    \b
    Examples:
      zoo tune --model mlp --data housing --trials 50
      zoo tune -m mlp -d housing --space space.toml --timeout 10m
      zoo tune -m mlp -d housing --trials 50 --folds 5
      zoo tune -m resnet -d housing -n 30 --folds 5 --reduce-lr --ensemble top-3
      zoo tune -m resnet -d housing -n 30 --folds 5 --reduce-lr --refit 5
      zoo tune --resume runs/tune-20260101-120000-mlp-housing --trials 20
    """
    from click.core import ParameterSource

    from zoo.app.saved import ensemble_size
    from zoo.app.tune.request import resume_request
    from zoo.app.tune.study import require_optuna

    timeout = parse_duration(options["timeout"])
    ensemble = ensemble_size(options["ensemble"])
    require_optuna()
    registry = _registry()
    run_options = {"trials": options["trials"], "timeout": timeout, "jobs": options["jobs"]}
    run_options.update(track=options["track"], baselines=not options["no_baselines"])
    run_options["ensemble"] = ensemble
    run_options["refit"] = options["refit"]
    run_options["cluster"] = from_options(options["cluster"], options["resources_per_run"])
    if options["resume"]:
        given = [
            k
            for k in ("preset", "space_file", "sets", "seed", "epochs", "patience", "folds")
            + ("target", "task", "ignore", "reduce_lr", "batch_size", "split_seed")
            + ("test_size", "validation_size")
            if ctx.get_parameter_source(k) != ParameterSource.DEFAULT
        ]
        if given:
            raise click.UsageError(
                f"--resume continues a study as it was started; --{_flag(given[0])} "
                "cannot change (only --trials, --timeout, --jobs, --track, --storage, "
                "--ensemble and --refit can)."
            )
        request = resume_request(
            options["resume"],
            options["model"],
            options["data"],
            storage=options["storage"],
            **run_options,
        )
    else:
        request = _new_request(options, registry, run_options)
    _run(request, registry, options)


def _flag(parameter: str) -> str:
    """The command-line spelling of a parameter of this command."""
    return {"space_file": "space", "sets": "set"}.get(parameter, parameter.replace("_", "-"))


def _new_request(options: dict[str, Any], registry: Any, run_options: dict[str, Any]) -> Any:
    from zoo import RunConfig
    from zoo.app.tune.request import TuneRequest
    from zoo.app.tune.space import read_space_file

    for required in ("model", "data"):
        if not options[required]:
            raise click.UsageError(f"Missing --{required}: give --{required} NAME (or --resume).")
    values = {
        k: options[k]
        for k in ("model", "data", "preset", "target", "task", "seed", "epochs", "patience")
        + ("batch_size", "split_seed", "test_size", "validation_size", "runs_dir", "folds")
        + ("reduce_lr",)
    }
    if options["ignore"]:
        from zoo.plan.data_choice import fold_option

        values["data_params"] = fold_option(
            registry, values["data"], {}, "ignore", options["ignore"]
        )
    from zoo import plan

    config = plan(RunConfig(**values), registry, options["sets"]).config
    fixed = _fixed_keys(RunConfig(**values), options["sets"], registry)
    space = read_space_file(options["space_file"]) if options["space_file"] else {}
    return TuneRequest(
        base=config,
        space=space,
        fixed_keys=fixed,
        storage=options["storage"],
        tune_dir=options["runs_dir"],
        **run_options,
    )


def _fixed_keys(config: Any, sets: tuple[str, ...], registry: Any) -> frozenset[str]:
    """The ``section.name`` keys that ``--set`` fixes (each planned on its own to see which)."""
    from dataclasses import fields, replace

    from zoo import plan

    empty = replace(config, model_params={}, preset_params={})
    before = plan(empty, registry).config
    options = {f.name for f in fields(config)}
    fixed: set[str] = set()
    for item in sets:
        after = plan(empty, registry, [item]).config
        found = {
            f"{section}.{name}"
            for section in ("model", "preset", "data")
            for name in getattr(after, f"{section}_params")
            if name not in getattr(before, f"{section}_params")
        }
        key = item.partition("=")[0].strip()
        fixed |= found or ({f"run.{key}"} if key in options else set())
    return frozenset(fixed)


def _run(request: Any, registry: Any, options: dict[str, Any]) -> None:
    from zoo.app.tune.search import tune as run_tune
    from zoo.cli.render import to_json

    _quiet_backend()
    bar = None if options["quiet"] else _progress_bar(request.trials)
    try:
        summary = run_tune(
            request,
            registry,
            resume=options["resume"],
            on_trial=bar.update if bar else None,
            on_stage=bar.stage if bar else None,
        )
    finally:
        if bar:
            bar.close()
    if options["as_json"]:
        click.echo(to_json(summary))
        return
    click.echo(_text(summary))
    click.echo(f"zoo: tune folder {summary['folder']}", err=True)


def _quiet_backend() -> None:
    context = click.get_current_context(silent=True)
    if not (context and (context.find_root().obj or {}).get("debug")):
        from zoo.app.run import quiet_backend

        quiet_backend()


class _Progress:
    """A bar over trials on stderr with the best validation score so far."""

    def __init__(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc="trials", unit="trial", file=sys.stderr, disable=None)
        self.states: dict[str, int] = {}

    def update(self, trial: Any, best: float | None) -> None:
        state = trial.state.name.lower()
        self.states[state] = self.states.get(state, 0) + 1
        shown = {"best val_loss": f"{best:.4g}" if best is not None else "-"}
        shown.update({k: v for k, v in self.states.items() if k != "complete"})
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update(1)

    def stage(self, text: str) -> None:
        """What the search does after its trials: the bar is done, a line says what now."""
        self.bar.close()
        click.echo(f"zoo: {text}...", err=True)

    def close(self) -> None:
        self.bar.close()


def _progress_bar(total: int) -> _Progress:
    return _Progress(total)


def _text(summary: dict[str, Any]) -> str:
    from tabulate import tabulate

    counts = summary["trials"]
    lines = [
        f"{summary['model']} on {summary['data']}: {counts['complete']} completed, "
        f"{counts['pruned']} pruned, {counts['failed']} failed trials"
    ]
    best = summary.get("best")
    if best:
        lines += best_lines(best)
    if summary.get("ensemble"):
        from zoo.app.tune.finish import ensemble_line

        lines.append(ensemble_line(summary["ensemble"]))
    metric = summary["key_metric"]
    rows = [
        [c["name"], f"{c['metrics'].get(metric, float('nan')):.4f}"]
        for c in summary.get("comparison", [])
    ]
    if rows:
        lines += ["", tabulate(rows, headers=["test part", metric], colalign=("left", "right"))]
    lines += [f"note: {n}" for n in summary.get("notes", [])]
    return "\n".join(lines)


def best_lines(best: dict[str, Any], width: int = 80) -> list[str]:
    """The best trial, numbers to 4 significant digits, wrapped within ``width`` columns."""
    import textwrap

    def shown(value: Any) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    params = [f"{k}={shown(v)}" for k, v in best["params"].items()]
    head = f"best trial #{best['trial']}: val_loss {shown(float(best['val_loss']))}"
    text = f"{head}  {', '.join(params)}" if params else head
    return textwrap.wrap(text, width, subsequent_indent="  ", break_on_hyphens=False)


COMMANDS = (tune,)
