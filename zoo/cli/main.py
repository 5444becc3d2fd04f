"""The ``zoo`` command: a thin click layer over the registry and the runner.

Results go to stdout, progress and diagnostics to stderr. Errors are one line and a non-zero
exit; ``--debug`` (or ZOO_DEBUG=1) shows the traceback. Listing and help never import
TensorFlow or Keras: only ``zoo run`` does, once its arguments have been checked.
"""

from __future__ import annotations

import os
import sys

import click

from zoo._version import __version__
from zoo.catalog.entries import KINDS
from zoo.cli.context import registry_from
from zoo.core.errors import ZooError, did_you_mean

DEBUG_ENV = "ZOO_DEBUG"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="keras-zoo")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """keras-zoo: try Keras models on data sets, all contributed by plugins.

    \b
    Start with:
      zoo list                              what is installed
      zoo info mlp                          a model's hyperparameters
      zoo run --model mlp --data housing    train, evaluate and save a run
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug or ctx.obj.get("debug", False)


@cli.command("list")
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
            click.echo(f"zoo: nothing matches {pattern!r}; 'zoo list' shows every name.", err=True)
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
        f"{first!r} is not one of {kinds}.{did_you_mean(first, KINDS)} To search names, give "
        f"a wildcard pattern such as '{first}*' (or 'zoo info {first}' for one name).",
        param_hint="KIND",
    )


@cli.command()
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
    about = registry.describe(name)
    click.echo(render.to_json(about) if as_json else render.info_text(about))


@cli.command()
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


def _register_run_commands() -> None:
    from zoo.cli import run as cli_run

    for command in cli_run.COMMANDS:
        cli.add_command(command)


_register_run_commands()
from zoo.cli.bench import bench_command  # noqa: E402 - after the group it joins

cli.add_command(bench_command)
cli.add_command(__import__("zoo.cli.tune", fromlist=["tune"]).tune)  # zoo tune


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command, turning errors into one line and an exit code.

    Called without ``argv`` it is the process's command line (``zoo``, ``python -m zoo``),
    and the process ends with it.
    """
    try:
        _main(argv)
    finally:
        if argv is None:
            _skip_final_collections()


def _skip_final_collections() -> None:
    """Leave the objects alive now out of the collections Python runs as it exits.

    With TensorFlow loaded those passes walk millions of objects, half a second that frees
    nothing the end of the process does not. Exit handlers still run, and files were
    closed by the code that wrote them.
    """
    import gc

    gc.freeze()


def _main(argv: list[str] | None) -> None:
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or bool(os.environ.get(DEBUG_ENV))
    if not [a for a in args if a != "--debug"]:
        args = ["--help"]  # bare ``zoo``: the help, as a normal answer, not a usage error
    try:
        cli.main(args=args, prog_name="zoo", standalone_mode=False, obj={"debug": debug})
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("zoo: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        if debug:
            raise
        _fail(_usage_line(exc), exc.exit_code)
    except ZooError as exc:
        if debug:
            raise
        label = "interrupted" if exc.exit_code == 130 else "error"
        _fail(f"zoo: {label}: {exc}", exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for a clean message
        if debug:
            raise
        _fail(
            f"zoo: unexpected error: {type(exc).__name__}: {exc} (rerun with --debug "
            "for the traceback)",
            1,
        )


def _usage_line(exc: click.ClickException) -> str:
    context = getattr(exc, "ctx", None)
    command = context.command_path if context else "zoo"
    hint = f" Try '{command} --help'." if context else ""
    return f"{command}: error: {exc.format_message()}{hint}"


def _fail(message: str, code: int) -> None:
    lines = message.split("\n")
    # A list of problems (every problem of a file at once) keeps one line per problem.
    listed = len(lines) > 1 and all(line.startswith("  ") for line in lines[1:])
    click.echo(message if listed else " ".join(lines), err=True)
    sys.exit(code)
