"""``--offline``: never touch the network (the same as setting ZOO_OFFLINE=1)."""

from __future__ import annotations

import os

import click

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
