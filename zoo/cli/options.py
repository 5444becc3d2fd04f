"""What the commands share: options that several take (``run``, ``bench``, ``tune``: the
data options, ``--offline``, ``--track``, ``--cluster``), each written once, and the registry
carried on the click context.

Defaults are :class:`~zoo.core.config.RunConfig`'s, so a flag left out means what the Python
API means by the field left out. Importing this module imports no Ray, MLflow or TensorFlow.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import MISSING, fields
from typing import TYPE_CHECKING, Any

import click

from zoo.core.config import (
    AUTO_ENSEMBLE_ROWS,
    AUTO_ENSEMBLE_SIZE,
    MAX_FOLDS,
    MAX_SEED_ENSEMBLE,
    RunConfig,
)
from zoo.core.errors import shown
from zoo.core.tasks import TASKS

if TYPE_CHECKING:
    from zoo.catalog.registry import Registry

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in fields(RunConfig) if f.default is not MISSING
}

BATCH_SIZE = click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=DEFAULTS["batch_size"],
    help="Rows per gradient step. Default: the model's choice (32; resnet, ft-transformer "
    "and tabm: 32 to 512 by the training part's size).",
)
SPLIT_SEED = click.option(
    "--split-seed",
    type=int,
    default=DEFAULTS["split_seed"],
    show_default=True,
    help="random_state of the train/test and train/validation splits.",
)
TEST_SIZE = click.option(
    "--test-size",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=DEFAULTS["test_size"],
    show_default=True,
    help="Fraction held out for the test metrics.",
)
VALIDATION_SIZE = click.option(
    "--validation-size",
    type=click.FloatRange(0, 1, max_open=True),
    default=DEFAULTS["validation_size"],
    show_default=True,
    help="Fraction of the training part held out for validation.",
)
EPOCHS = click.option(
    "--epochs", type=click.IntRange(min=1), default=DEFAULTS["epochs"], show_default=True
)


def seed(help_text: str) -> Decorator:
    """``--seed`` (``help_text`` says what it seeds), RunConfig's default."""
    return click.option(
        "--seed", type=int, default=DEFAULTS["seed"], show_default=True, help=help_text
    )


SUMMARY_JSON = click.option(
    "--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout."
)


def runs_dir(help_text: str) -> Decorator:
    """``--runs-dir``, where the command makes its folder (``help_text`` says which)."""
    return click.option(
        "--runs-dir",
        type=click.Path(file_okay=False),
        default=DEFAULTS["runs_dir"],
        show_default=True,
        help=help_text,
    )


def resume(help_text: str) -> Decorator:
    """``--resume``, an earlier folder of the command to go on with (``help_text`` says how)."""
    return click.option("--resume", type=click.Path(file_okay=False), default=None, help=help_text)


def folds(help_text: str) -> Decorator:
    """``--folds``, cross-validation folds of the training part (``help_text`` says what for)."""
    return click.option(
        "--folds",
        type=click.IntRange(1, MAX_FOLDS),
        default=DEFAULTS["folds"],
        show_default=True,
        help=help_text,
    )


SEED_ENSEMBLE = click.option(
    "--seed-ensemble",
    type=click.IntRange(1, MAX_SEED_ENSEMBLE),
    default=DEFAULTS["seed_ensemble"],
    metavar="N",
    help="Train N models (seeds --seed to --seed + N-1) and average them into the run's "
    "model: steadier and better on small data, N times the training. Default: the model's "
    f"choice (1; resnet and ft-transformer: {AUTO_ENSEMBLE_SIZE} up to "
    f"{AUTO_ENSEMBLE_ROWS:,} training rows).",
)


PATIENCE_HELP = (
    "Stop early when the validation loss has not improved for N epochs, going back to the "
    "best epoch's weights if the loss clearly rose since. Default: max(5, epochs // 4); 0 "
    "trains every epoch. Needs a validation part."
)


def patience(
    help_text: str = PATIENCE_HELP,
    default: int | None = DEFAULTS["patience"],
) -> Decorator:
    """``--patience``, early stopping (``help_text`` says for what; RunConfig checks the top).
    ``default`` is RunConfig's unless the command has its own (``zoo tune``'s trials)."""
    return click.option(
        "--patience",
        type=click.IntRange(min=0),
        default=default,
        show_default=default is not None,
        help=help_text,
    )


TARGET_HELP = "Target column, when --data is a CSV file."
TASK_HELP = "Force the task of a CSV file (default: inferred from the target)."
IGNORE_HELP = (
    "Columns of a CSV file to leave out, comma-separated (the same as --set data.ignore=COL,COL)."
)
GRID_NOTE = " In a bench: given to each data set that takes it."


def data_options(*, grid: bool = False) -> Decorator:
    """``--target``, ``--task`` and ``--ignore``: what a data set that takes them (a CSV file)
    gets as its parameters; with ``grid``, the help says that a bench gives them to each data
    set of its grid that takes them."""
    note = GRID_NOTE if grid else ""
    target = click.option(
        "--target", "-t", default=DEFAULTS["target"], metavar="COLUMN", help=TARGET_HELP + note
    )
    task = click.option(
        "--task", type=click.Choice(list(TASKS)), default=DEFAULTS["task"], help=TASK_HELP + note
    )
    ignore = click.option(
        "--ignore",
        default=None,
        metavar="COL[,COL...]",
        callback=_column_list,
        help=IGNORE_HELP + note,
    )

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        return target(task(ignore(function)))

    return decorate


def _column_list(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``" id, notes"`` -> ``"id,notes"``: what ``--set data.ignore=id,notes`` gives."""
    if value is None:
        return None
    names = list(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    if not names:
        raise click.BadParameter(
            f"expected column names separated by commas, e.g. --ignore id,notes; received "
            f"{shown(value)}.",
            ctx,
            param,
        )
    return ",".join(names)


OFFLINE_ENV = "ZOO_OFFLINE"


def _go_offline(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    # An environment variable reaches the plugins (and any worker process) without threading a
    # flag through every layer; plugins that download read it.
    if value:
        os.environ[OFFLINE_ENV] = "1"


OFFLINE = click.option(
    "--offline",
    is_flag=True,
    expose_value=False,
    callback=_go_offline,
    help=f"Never use the network: pretrained weights only from the cache (or {OFFLINE_ENV}=1).",
)


TRACK = click.option(
    "--track",
    metavar="URI",
    envvar="MLFLOW_TRACKING_URI",
    show_envvar=True,
    default=None,
    help="Log to MLflow at this tracking URI (a server, or e.g. sqlite:///mlflow.db); "
    "needs pip install 'keras-zoo[mlflow]'.",
)


CLUSTER = click.option(
    "--cluster",
    metavar="ADDRESS",
    default=None,
    help="Run each combination or trial as a task on a Ray cluster: ray://HOST:PORT, auto (the "
    "cluster this machine belongs to) or local (a Ray runtime started here); needs "
    "pip install 'keras-zoo[ray]'.",
)
RESOURCES = click.option(
    "--resources-per-run",
    metavar="cpu=N,gpu=N",
    default=None,
    help="What each run asks of the Ray cluster (default cpu=1,gpu=0).",
)


def cluster_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Both options on a command."""
    return CLUSTER(RESOURCES(func))


def from_options(address: str | None, resources: str | None) -> Any:
    """A checked :class:`zoo.app.cluster.ClusterOptions`, or None without ``--cluster``.

    Raises:
        click.UsageError: --resources-per-run without --cluster.
        IncompatibleError: Ray is not installed.
        InvalidParameterError: a bad address or resources.
    """
    if address is None:
        if resources is not None:
            raise click.UsageError(
                "--resources-per-run applies to --cluster runs; give --cluster ADDRESS too."
            )
        return None
    from zoo.app.cluster import ClusterOptions, parse_resources, require_ray

    require_ray()
    return ClusterOptions(address, parse_resources(resources))


def registry_from(ctx: click.Context | None = None, *, warn: bool = True) -> Registry:
    """The command's registry: discovered on first use and kept on the click context.

    Plugins that failed or need attention are reported once, one warning line each on
    stderr (with ``warn=False``, for ``zoo plugins`` whose table shows them, only the notes
    that concern no one plugin); ``--debug`` adds each failed plugin's traceback.
    """
    from zoo.catalog.registry import Registry

    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    root.ensure_object(dict)
    registry = root.obj.get("registry")
    if registry is None:
        # The CLI prints the warnings itself, as lines, instead of Python's warning format.
        registry = root.obj["registry"] = Registry.discover(warn=False)
        warn_about_problems(registry, registry.warnings() if warn else registry.notes)
        if root.obj.get("debug"):
            for record in (r for r in registry.problems if r.traceback):
                click.echo(
                    f"zoo: plugin {shown(record.name)} failed:\n{record.traceback}", err=True
                )
    return registry


def warn_about_problems(registry: Registry, lines: list[str] | None = None) -> None:
    """Print ``lines`` (by default every warning of ``registry``), one per line on stderr."""
    for line in registry.warnings() if lines is None else lines:
        hint = "" if "zoo plugins" in line else " (see 'zoo plugins')"
        click.echo(f"zoo: warning: {line}{hint}", err=True)
