"""The ``zoo`` command: a thin click layer over the registry and the use cases.

Results go to stdout, progress and diagnostics to stderr. Errors are one line and a non-zero
exit; ``--debug`` (or ZOO_DEBUG=1) shows the traceback. Listing and help never import
TensorFlow or Keras: only ``zoo run`` does, once its arguments have been checked.
"""

from __future__ import annotations

import os
import sys

import click

from zoo._version import __version__
from zoo.cli import bench, inspect, listing, run, tune
from zoo.core.errors import ZooError, plain

DEBUG_ENV = "ZOO_DEBUG"

# Every command, one module per command group, each exporting its COMMANDS; a new command (or
# group) is one more module and one more entry here. The modules import nothing heavy at
# module level, so ``zoo --help`` and ``zoo list`` load them all without TensorFlow.
COMMANDS = (
    *listing.COMMANDS,
    *run.COMMANDS,
    *inspect.COMMANDS,
    *bench.COMMANDS,
    *tune.COMMANDS,
)


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


for command in COMMANDS:
    cli.add_command(command)


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
            f"zoo: unexpected error: {type(exc).__name__}: {_bounded(str(exc))} (rerun with "
            "--debug for the traceback)",
            1,
        )


def _usage_line(exc: click.ClickException) -> str:
    context = getattr(exc, "ctx", None)
    command = context.command_path if context else "zoo"
    hint = f" Try '{command} --help'." if context else ""
    return f"{command}: error: {exc.format_message()}{hint}"


def _bounded(text: str, limit: int = 2000) -> str:
    """Another library's message, cut: it may quote a value of any size."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _fail(message: str, code: int) -> None:
    lines = plain(message).split("\n")  # no terminal escape codes (Keras bolds its errors)
    # A list of problems (every problem of a file at once) keeps one line per problem.
    listed = len(lines) > 1 and all(line.startswith("  ") for line in lines[1:])
    click.echo("\n".join(lines) if listed else " ".join(lines), err=True)
    sys.exit(code)
