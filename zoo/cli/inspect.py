"""The commands on saved runs: ``zoo show`` and ``zoo compare`` read them back from their
folders (text or JSON); ``zoo export`` (a file other runtimes load) and ``zoo serve`` (an
HTTP prediction service) take a run's model elsewhere.

Nothing here imports anything heavy: show and compare read a few JSON files
(``zoo.runs.inspect``); TensorFlow, FastAPI and uvicorn load only once an export or serve
command's arguments have been checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from tabulate import tabulate

from zoo.app.export import FORMATS
from zoo.cli.options import registry_from
from zoo.cli.run import ALLOW_UNSAFE, ALLOW_UNVERIFIED, _echo_json, _quiet_backend

AS_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
METRIC_LABELS = {"mse": "MSE", "rmse": "RMSE", "mae": "MAE", "r2": "R²", "auc": "AUC"}


@click.command()
@click.argument("run_folder", type=click.Path())
@AS_JSON
def show(run_folder: str, as_json: bool) -> None:
    """Show one run: its settings, status, timings, test metrics and best epoch, the data's
    columns and their roles, the warnings recorded, and where its figures are."""
    from zoo.runs.inspect import describe_run

    described = describe_run(run_folder)
    if as_json:
        from zoo.cli.render import to_json

        click.echo(to_json(described))
        return
    click.echo(show_text(described))


@click.command()
@click.argument("run_folders", nargs=-1, required=True, type=click.Path())
@click.option(
    "--any-data",
    is_flag=True,
    help="Compare runs on different data sets too (with a note); refused by default.",
)
@AS_JSON
def compare(run_folders: tuple[str, ...], any_data: bool, as_json: bool) -> None:
    """Compare runs side by side: the settings that differ, test metrics (* marks the best
    of each), epochs and time. Runs of different tasks are refused; runs on different data
    sets too, unless --any-data."""
    from zoo.runs.inspect import compare_runs

    if len(run_folders) < 2:
        raise click.UsageError("name at least two run folders to compare (zoo runs lists them)")
    compared = compare_runs(list(run_folders), any_data=any_data)
    if as_json:
        from zoo.cli.render import to_json

        click.echo(to_json(compared))
        return
    click.echo(compare_text(compared))


def show_text(run: dict[str, Any]) -> str:
    """``zoo show``'s text: a summary, then tables, then warnings and files."""
    parts = [tabulate(_summary_rows(run), tablefmt="plain", disable_numparse=True)]
    test = run["metrics"]["test"]
    if test:
        rows = [[_label(k), _number(v)] for k, v in test.items()]
        parts.append(_table(rows, ["test metric", "value"]))
    parts += _evaluation_tables(run.get("evaluation") or {})
    columns = run["data"]["columns"]
    if columns:
        rows = [[c["name"], c["role"], c["note"]] for c in columns]
        parts.append(_table(rows, ["column", "role", "note"], numbers=False))
    for title, lines in (
        ("warnings", run["warnings"]),
        ("data notes", run["data"]["notes"]),
        ("problems", run["problems"]),
    ):
        if lines:
            parts.append("\n".join([f"{title}:", *(f"  - {line}" for line in lines)]))
    files = run["files"]
    listed = [[key, files[key]] for key in ("curves", "evaluation", "model") if files[key]]
    listed += [["plot", path] for path in files["plots"]]
    if listed:
        parts.append(tabulate(listed, tablefmt="plain", disable_numparse=True))
    return "\n\n".join(parts)


def _summary_rows(run: dict[str, Any]) -> list[list[str]]:
    from zoo.runs.inspect import data_label, short_name

    config, status, metrics = run["config"], run["status"], run["metrics"]
    data = run["data"]
    rows = [["run", run["folder"]], ["status", _status_text(status)]]
    if config:
        rows += [
            ["model", _with_params(short_name(config.get("model")), config.get("model_params"))],
            ["data", _data_text(data_label(config), run["task"], data)],
            ["preset", _with_params(short_name(config.get("preset")), config.get("preset_params"))],
            ["training", _training_text(config)],
        ]
    best = metrics["best_epoch"]
    if best:
        rows.append(["best epoch", f"{best['epoch']} of {best['of']} ({best['monitor']} "
                                   f"{best['value']:.4g})"])  # fmt: skip
    timings = metrics["timings"]
    if timings:
        spent = [f"{k.removesuffix('_s')} {v:.2f} s" for k, v in timings.items() if _is_number(v)]
        rows.append(["time", ", ".join(spent)])
    return rows


def _status_text(status: dict[str, Any]) -> str:
    text = str(status.get("status"))
    if status.get("epochs_done") is not None:
        text += f", {status['epochs_done']} epochs done"
    if status.get("started"):
        text += f"; started {status['started']}"
    if status.get("updated"):
        text += f", last updated {status['updated']}"
    return text


def _with_params(name: str, params: Any) -> str:
    if not isinstance(params, dict) or not params:
        return name
    return f"{name} ({', '.join(f'{k}={v}' for k, v in params.items() if k != 'path')})"


def _data_text(label: str, task: Any, data: dict[str, Any]) -> str:
    text = f"{label}: {task or 'task unknown'}"
    if data.get("target"):
        text += f", target {data['target']}"
    if data.get("classes"):
        text += f" (classes {', '.join(data['classes'][:10])}"
        text += ", ...)" if len(data["classes"]) > 10 else ")"
    if data.get("inputs"):
        text += f", {data['inputs']} inputs"
    return text


def _training_text(config: dict[str, Any]) -> str:
    keys = ("epochs", "batch_size", "seed", "test_size", "validation_size", "patience", "folds")
    keys += ("seed_ensemble",)
    return ", ".join(f"{key} {config[key]}" for key in keys if config.get(key) is not None)


def _evaluation_tables(evaluation: dict[str, Any]) -> list[str]:
    """Per-class scores (classifiers) or the residuals (regression) of evaluation.json."""
    per_class = evaluation.get("per_class")
    if isinstance(per_class, dict) and per_class:
        rows = [
            [name, *(_number(scores.get(k)) for k in ("precision", "recall", "f1")),
             scores.get("support")]
            for name, scores in per_class.items()
            if isinstance(scores, dict)
        ]  # fmt: skip
        tables = [_table(rows, ["class", "precision", "recall", "F1", "support"])]
        curves = [("ROC AUC", evaluation.get("roc_curve"), "auc")]
        curves.append(("average precision", evaluation.get("precision_recall_curve"),
                       "average_precision"))  # fmt: skip
        found = [
            f"{label} {_number(c.get(key))}" for label, c, key in curves if isinstance(c, dict)
        ]
        return [*tables, ", ".join(found)] if found else tables
    residuals = evaluation.get("residuals")
    if isinstance(residuals, dict) and residuals:
        order = ("mean", "std", "p05", "p25", "p50", "p75", "p95")
        rows = [[key, _number(residuals.get(key))] for key in order if key in residuals]
        return [_table(rows, ["residual (predicted - true)", "value"])]
    return []


def compare_text(compared: dict[str, Any]) -> str:
    """``zoo compare``'s text: one column per run, the best value of each metric starred."""
    runs = compared["runs"]
    headers = ["", *(f"run {n}" for n in range(1, len(runs) + 1))]
    rows = [["model", *(r["model"] for r in runs)], ["data", *(r["data"] for r in runs)]]
    rows += [[key, *map(_plain, values)] for key, values in compared["differences"].items()
             if key not in ("model", "data")]  # fmt: skip
    for name in compared["metrics"]:
        best = compared["best"].get(name, [])
        cells = [_number(r["test"].get(name)) + (" *" if i in best else "")
                 for i, r in enumerate(runs)]  # fmt: skip
        rows.append([_label(name), *cells])
    rows += [
        ["epochs trained", *(_plain(r["epochs"]) for r in runs)],
        ["best epoch", *(_plain(r["best_epoch"]) for r in runs)],
        ["fit time", *(_seconds(r["fit_s"]) for r in runs)],
        ["total time", *(_seconds(r["total_s"]) for r in runs)],
        ["status", *(r["status"] for r in runs)],
    ]
    legend = [f"run {n}: {r['folder']}" for n, r in enumerate(runs, 1)]
    legend.append("* the best value of a metric")
    legend += [f"note: {note}" for note in compared["notes"]]
    return "\n".join([_table(rows, headers), "", *legend])


def _table(rows: list[list[Any]], headers: list[str], *, numbers: bool = True) -> str:
    """Names on the left; numbers (every other column, with ``numbers``) on the right."""
    align = ("left", *(("right" if numbers else "left"),) * (len(headers) - 1))
    return tabulate(rows, headers=headers, colalign=align, disable_numparse=True)


def _label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(value: Any) -> str:
    return f"{value:.4f}" if _is_number(value) else "-"


def _seconds(value: Any) -> str:
    return f"{value:.2f} s" if _is_number(value) else "-"


def _plain(value: Any) -> str:
    return "-" if value is None else str(value)


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


COMMANDS = (show, compare, export, serve)
