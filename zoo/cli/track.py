"""The ``--track URI`` option that ``zoo run`` and ``zoo bench`` share."""

from __future__ import annotations

import click

TRACK = click.option(
    "--track",
    metavar="URI",
    envvar="MLFLOW_TRACKING_URI",
    show_envvar=True,
    default=None,
    help="Log to MLflow at this tracking URI (a server, or e.g. sqlite:///mlflow.db); "
    "needs pip install 'keras-zoo[mlflow]'.",
)
