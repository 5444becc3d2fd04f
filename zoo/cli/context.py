"""What the click context carries for every command: the registry, discovered once, lazily."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from zoo.catalog.registry import Registry


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
                click.echo(f"zoo: plugin {record.name!r} failed:\n{record.traceback}", err=True)
    return registry


def warn_about_problems(registry: Registry, lines: list[str] | None = None) -> None:
    """Print ``lines`` (by default every warning of ``registry``), one per line on stderr."""
    for line in registry.warnings() if lines is None else lines:
        hint = "" if "zoo plugins" in line else " (see 'zoo plugins')"
        click.echo(f"zoo: warning: {line}{hint}", err=True)
