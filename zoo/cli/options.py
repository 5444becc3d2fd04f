"""Options that several commands take (``run``, ``bench``, ``tune``), each written once
(``--cluster`` and ``--resources-per-run`` are in ``cluster``, ``--track`` in ``track``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from zoo.core.config import MAX_FOLDS

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

BATCH_SIZE = click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
SPLIT_SEED = click.option("--split-seed", type=int, default=42, show_default=True)
TEST_SIZE = click.option(
    "--test-size",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.2,
    show_default=True,
)
SUMMARY_JSON = click.option(
    "--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout."
)


def runs_dir(help_text: str) -> Decorator:
    """``--runs-dir``, where the command makes its folder (``help_text`` says which)."""
    return click.option(
        "--runs-dir",
        type=click.Path(file_okay=False),
        default="runs",
        show_default=True,
        help=help_text,
    )


def resume(help_text: str) -> Decorator:
    """``--resume``, an earlier folder of the command to go on with (``help_text`` says how)."""
    return click.option("--resume", type=click.Path(file_okay=False), default=None, help=help_text)


def folds(help_text: str) -> Decorator:
    """``--folds``, cross-validation folds of the training part (``help_text`` says what for)."""
    return click.option(
        "--folds", type=click.IntRange(1, MAX_FOLDS), default=1, show_default=True, help=help_text
    )
