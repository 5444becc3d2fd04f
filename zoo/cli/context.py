"""What the click context carries for every command: the registry, discovered once, lazily."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from zoo.catalog.registry import Registry


def registry_from(ctx: click.Context | None = None, *, warn: bool = True) -> Registry:
    """The command's registry: discovered on first use and kept on the click context.

    Plugins that failed are reported once, as one warning line each on stderr.
    """
    from zoo.catalog.registry import Registry

    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    root.ensure_object(dict)
    registry = root.obj.get("registry")
    if registry is None:
        registry = root.obj["registry"] = Registry.discover()
        if warn:
            warn_about_problems(registry)
    return registry


def warn_about_problems(registry: Registry) -> None:
    for record in registry.problems:
        click.echo(
            f"zoo: warning: plugin {record.name!r} was skipped: {record.error} (see 'zoo plugins')",
            err=True,
        )
