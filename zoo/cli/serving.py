"""The ``zoo`` commands that take a saved run's model elsewhere: ``export`` (a file other
runtimes load) and ``serve`` (an HTTP prediction service).

Like the rest of the CLI, this module imports nothing heavy: TensorFlow, FastAPI and uvicorn
load only once a command's arguments have been checked.
"""

from __future__ import annotations

from pathlib import Path

import click

from zoo.app.export import FORMATS
from zoo.cli.options import registry_from
from zoo.cli.run import ALLOW_UNSAFE, ALLOW_UNVERIFIED, _echo_json, _quiet_backend


@click.command()
@click.argument("run_folder", type=click.Path())
@click.option(
    "--format",
    "-f",
    "fmt",
    required=True,
    type=click.Choice(FORMATS),
    help="savedmodel (TensorFlow Serving), tflite (TFLite / LiteRT), onnx (ONNX Runtime; "
    "needs keras-zoo[export]).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(),
    default=None,
    help="The folder to write (default: RUN/export/FORMAT).",
)
@click.option("--force", is_flag=True, help="Replace an earlier export in that folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the export record as JSON.")
@ALLOW_UNSAFE
@ALLOW_UNVERIFIED
def export(
    run_folder: str,
    fmt: str,
    output: str | None,
    force: bool,
    as_json: bool,
    allow_unsafe: bool,
    allow_unverified: bool,
) -> None:
    """Export a saved run's model, checked on the run's own test rows.

    The folder holds the artifact (saved_model/, model.tflite or model.onnx), which takes
    raw rows as 'zoo predict' does, and export.json: its input columns and categories, and
    the largest difference from the Keras model's outputs on the test rows.

    \b
    Examples:
      zoo export runs/20260101-120000-mlp-housing --format tflite
      zoo export RUN -f onnx -o deploy/model --force
    """
    from zoo.app.export import check_format, export_run
    from zoo.app.saved import load_run

    check_format(fmt)  # a missing converter is one line before anything loads
    saved = load_run(run_folder, allow_unsafe=allow_unsafe, allow_unverified=allow_unverified)
    _quiet_backend()
    done = export_run(saved, registry_from(), fmt, Path(output) if output else None, force=force)
    if as_json:
        _echo_json({"folder": str(done.folder), **done.record})
        return
    check = done.record["check"]
    click.echo(
        f"zoo: exported {fmt} to {done.artifact}; checked on {check['rows']} test rows: max "
        f"absolute difference from the Keras model {check['max_abs_difference']:.3g} "
        f"(tolerance {check['tolerance']:.3g})"
    )


@click.command()
@click.argument("run_folder", type=click.Path())
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--max-body-mb",
    type=click.FloatRange(0, min_open=True),
    default=1.0,
    show_default=True,
    help="Refuse larger request bodies (HTTP 413).",
)
@click.option(
    "--batch-wait-ms",
    type=click.FloatRange(0),
    default=2.0,
    show_default=True,
    help="How long a request waits for others to share its model call (0: only those "
    "already waiting).",
)
@click.option(
    "--max-batch-rows",
    type=click.IntRange(1),
    default=1024,
    show_default=True,
    help="Rows per model call, at most.",
)
@ALLOW_UNSAFE
@ALLOW_UNVERIFIED
def serve(
    run_folder: str,
    host: str,
    port: int,
    max_body_mb: float,
    batch_wait_ms: float,
    max_batch_rows: int,
    allow_unsafe: bool,
    allow_unverified: bool,
) -> None:
    """Serve a saved tabular run's model over HTTP until interrupted.

    \b
    POST /predict   JSON records ([{"column": value}, ...]) or CSV with a header
                    (Content-Type: text/csv); answers predictions, and class
                    probabilities for a classifier
    GET  /schema    the input columns and their kinds
    GET  /health    ok once the model is loaded
    """
    from zoo.app.saved import load_run
    from zoo.app.serve import ServeOptions, open_server

    saved = load_run(run_folder, allow_unsafe=allow_unsafe, allow_unverified=allow_unverified)
    options = ServeOptions(host, port, max_body_mb, batch_wait_ms, max_batch_rows)
    server, sock = open_server(saved, registry_from(), options)
    host_name, bound_port = sock.getsockname()[:2]
    address = f"{host_name}:{bound_port}"
    click.echo(f"zoo: serving {saved.path.name} on http://{address} (Ctrl-C stops)", err=True)
    server.run(sockets=[sock])


COMMANDS = (export, serve)
