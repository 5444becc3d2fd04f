"""``zoo list``, ``zoo info`` and ``zoo plugins``: what is installed. They read the registry
only, and never import TensorFlow or Keras."""

from __future__ import annotations

import click

from zoo.catalog.entries import KINDS
from zoo.cli.options import registry_from
from zoo.core.errors import did_you_mean, shown


@click.command("list")
@click.argument("kind", required=False, metavar="[KIND]")
@click.argument("pattern", required=False, default="*")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(kind: str | None, pattern: str, as_json: bool) -> None:
    """List data sets, models and presets (optionally one KIND, names matching PATTERN).

    \b
    KIND is datasets, models or presets; PATTERN is a shell-style wildcard:
      zoo list                  everything
      zoo list models           one kind
      zoo list 'm*'             names matching the pattern, across all kinds
      zoo list models 'm*'      both
    """
    from zoo.cli import render

    kind, pattern = _kind_and_pattern(kind, pattern)
    registry = registry_from()
    kinds = [kind] if kind else list(KINDS)
    if as_json:
        entries = [e for k in kinds for e in registry.list(k, pattern)]
        click.echo(render.entries_json(registry, entries))
        return
    found = {k: registry.list(k, pattern) for k in kinds}
    if pattern != "*" and len(kinds) > 1:
        found = {k: entries for k, entries in found.items() if entries}  # only the kinds that match
        if not found:
            click.echo(
                f"zoo: nothing matches {shown(pattern)}; 'zoo list' shows every name.", err=True
            )
    for i, (k, entries) in enumerate(found.items()):
        if len(kinds) > 1:
            click.echo(("\n" if i else "") + f"{k.upper()}")
        click.echo(render.entries_table(registry, k, entries) if entries else "(none)")


def _kind_and_pattern(first: str | None, pattern: str) -> tuple[str | None, str]:
    """``zoo list KIND [PATTERN]`` or ``zoo list PATTERN``: a first word with a wildcard is
    the pattern, across all kinds; any other word must be a kind."""
    if first is None or first in KINDS:
        return first, pattern
    if pattern == "*" and any(c in first for c in "*?["):
        return None, first
    kinds = ", ".join(repr(k) for k in KINDS)
    raise click.BadParameter(
        f"{shown(first)} is not one of {kinds}.{did_you_mean(first, KINDS)} To search names, give "
        f"a wildcard pattern such as '{first}*' (or 'zoo info {first}' for one name).",
        param_hint="KIND",
    )


@click.command()
@click.argument("name")
@click.option("--target", "-t", default=None, help="With a CSV file: its target column.")
@click.option("--ignore", default=None, metavar="COL[,COL]", help="With a CSV file: leave out.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info(name: str, target: str | None, ignore: str | None, as_json: bool) -> None:
    """Describe a data set, model or preset: metadata, hyperparameters, plugin.

    Given a CSV file and --target, show the role of each of its columns (no training).
    """
    from zoo.cli import render

    registry = registry_from()
    if target is not None or ignore is not None:
        from zoo.plan.data_choice import resolve_data

        params = {"ignore": ignore} if ignore else {}
        entry, _ = resolve_data(registry, name, params, target)
        columns = list(entry.metadata.get("columns") or ())
        click.echo(render.to_json(columns) if as_json else render.roles_table(columns))
        for line in render.data_notes(dict(entry.metadata)):
            if not line.startswith("zoo: column"):
                click.echo(line, err=True)
        return
    about = render.about(registry, registry.get(name))
    click.echo(render.to_json(about) if as_json else render.info_text(about))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json: bool) -> None:
    """Show every plugin: version, where it came from, status and what it contributes."""
    from dataclasses import asdict

    from zoo.cli import render

    records = list(registry_from(warn=False).plugins.values())
    if as_json:
        click.echo(render.to_json([asdict(r) for r in records]))
    else:
        click.echo(render.plugins_table(records))


COMMANDS = (list_command, info, plugins)
