"""The ``--cluster`` and ``--resources-per-run`` options that ``zoo bench`` and ``zoo tune``
share. Importing this module imports no Ray: only a given ``--cluster`` does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

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
