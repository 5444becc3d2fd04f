"""Plain-text and JSON views of registry entries, plugins and results, for the CLI; and
what ``zoo run`` says around a training run (the start line, the notes after it, the JSON),
each message in one place with a test."""

from __future__ import annotations

import json
import textwrap
from typing import TYPE_CHECKING, Any

from tabulate import tabulate

from zoo.catalog.entries import Entry
from zoo.catalog.manager import PluginRecord
from zoo.catalog.registry import Registry
from zoo.core.errors import shown

if TYPE_CHECKING:
    from zoo.app.run import RunResult
    from zoo.core.config import RunConfig
    from zoo.plan.planning import Plan


def _shape(entry: Entry) -> str:
    meta = entry.metadata
    shape = meta["shape"]
    if isinstance(shape, str):  # known only once a file is read: the task column says so
        return meta["input_kind"]
    return f"{meta['input_kind']} {'x'.join(str(n) for n in shape)}"


def _tasks(tasks: tuple[str, ...]) -> str:
    from zoo.core.tasks import TASKS

    return "any" if set(tasks) >= set(TASKS) else ", ".join(tasks)


COLUMNS = {
    "datasets": [
        ("name", None),
        ("task", lambda e: e.metadata["task"]),
        ("input", _shape),
        ("rows", lambda e: e.metadata["rows"] or "-"),
        ("classes", lambda e: e.metadata["classes"] or "-"),
        ("plugin", lambda e: e.plugin),
        ("description", lambda e: e.description),
    ],
    "models": [
        ("name", None),
        ("tasks", lambda e: _tasks(e.metadata["tasks"])),
        ("inputs", lambda e: ", ".join(e.metadata["input_kinds"])),
        ("plugin", lambda e: e.plugin),
        ("description", lambda e: e.description),
    ],
    "presets": [
        ("name", None),
        ("tasks", lambda e: _tasks(e.metadata["tasks"])),
        ("plugin", lambda e: e.plugin),
        ("description", lambda e: e.description),
    ],
}


def entries_table(
    registry: Registry, kind: str, entries: list[Entry], width: int | None = None
) -> str:
    """A table of entries that fits ``width`` columns (the terminal's, at least 80 assumed
    when unknown): the description wraps, and the plugin column goes when space is short."""
    columns = COLUMNS[kind]
    rows = [
        [registry.display_name(e) if get is None else get(e) for _, get in columns] for e in entries
    ]
    headers = [title for title, _ in columns]
    return fitted_table(rows, headers, width or terminal_width(), optional=("plugin",))


def terminal_width() -> int:
    """Columns of the terminal (COLUMNS wins), 80 when unknown."""
    import shutil

    return shutil.get_terminal_size((80, 24)).columns


def fitted_table(
    rows: list[list[Any]], headers: list[str], width: int, optional: tuple[str, ...] = ()
) -> str:
    """``rows`` as a table no wider than ``width``: the last column wraps at word breaks;
    the ``optional`` columns go when keeping them would leave it fewer than ``MIN_WRAPPED``."""
    for drop in ((), optional):
        keep = [i for i, h in enumerate(headers) if h not in drop]
        kept_rows = [[row[i] for i in keep] for row in rows]
        kept_headers = [headers[i] for i in keep]
        left = _width(tabulate([r[:-1] for r in kept_rows], headers=kept_headers[:-1]))
        room = width - left - 2
        if room >= MIN_WRAPPED or drop == optional:
            break
    wrap = [None] * (len(kept_headers) - 1) + [max(room, MIN_LAST)]
    return tabulate(kept_rows, headers=kept_headers, maxcolwidths=wrap)


MIN_WRAPPED = 28  # a narrower last column costs a column of others first
MIN_LAST = 16  # never narrower than this, even if the table then overflows


def _width(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def about(registry: Registry, entry: Entry) -> dict[str, Any]:
    """What ``zoo info`` shows of an entry: its facts, the name to type and the plugin's version."""
    return {
        **entry.to_dict(),
        "name": registry.display_name(entry),
        "plugin_version": registry.plugins[entry.plugin].version,
    }


def entries_json(registry: Registry, entries: list[Entry]) -> str:
    return to_json([about(registry, e) for e in entries])


def _typed(param: dict[str, Any]) -> str:
    """A hyperparameter's type, with the range its plugin declares: ``float in [0, 1)``."""
    return f"{param['type']} in {param['range']}" if param.get("range") else param["type"]


def info_text(about: dict[str, Any]) -> str:
    meta = about["metadata"]
    lines = _wrapped(f"{about['name']} ({about['kind']}) - {meta.get('description', '')}", "")
    lines += _wrapped(
        f"plugin: {about['plugin']} {about['plugin_version']}  "
        f"(qualified name {about['qualified_name']})"
    )
    for key, value in meta.items():
        # Ranges show next to each hyperparameter's type, below.
        if key not in ("description", "ranges") and value not in ("", None):
            shown = ", ".join(map(str, value)) if isinstance(value, tuple) else value
            lines += _wrapped(f"{key}: {shown}")
    if about["params"]:
        rows = [[p["name"], _typed(p), repr(p["default"]), p["help"]] for p in about["params"]]
        table = fitted_table(rows, ["hyperparameter", "type", "default", "help"], terminal_width())
        lines += ["", table]
    else:
        lines += ["", "No hyperparameters."]
    return "\n".join(lines)


def _wrapped(text: str, indent: str = "  ") -> list[str]:
    """``text`` wrapped to the terminal, continuation lines indented two more spaces."""
    return textwrap.wrap(
        text,
        terminal_width(),
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_on_hyphens=False,
    )


def plugins_table(records: list[PluginRecord]) -> str:
    rows = [
        [
            r.name,
            r.version,
            r.origin,
            "; ".join([r.status if not r.error else f"{r.status}: {r.error}", *r.notes]),
            "; ".join(f"{kind}: {', '.join(names)}" for kind, names in r.contributes.items())
            or "-",
        ]
        for r in records
    ]
    headers = ["plugin", "version", "origin", "status", "contributes"]
    return fitted_table(rows, headers, terminal_width())


def metrics_table(metrics: dict[str, float]) -> str:
    labels = {
        "mse": "MSE",
        "rmse": "RMSE",
        "mae": "MAE",
        "r2": "R²",
        "auc": "AUC",
        "accuracy": "accuracy",
        "log_loss": "log loss",
    }
    rows = [[labels.get(k, k), f"{v:.4f}"] for k, v in metrics.items()]
    # No number parsing: tabulate would reprint 0.8110 as 0.811, one decimal short of the rest.
    return tabulate(
        rows, headers=["test metric", "value"], colalign=("left", "right"), disable_numparse=True
    )


def to_json(payload: Any) -> str:
    return json.dumps(payload, indent=2, default=_jsonable)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, set)):
        return list(value)
    return str(value)


def runs_table(runs: list[dict[str, Any]], width: int | None = None) -> str:
    """Past runs, one per line; the model and data columns go when they do not fit ``width``
    (the run's folder name already holds both)."""
    rows = [
        [
            r["folder"],
            r.get("kind", "run"),
            _short(r["model"]),
            _short(r["data"]),
            f"{r['metric']} {r['value']:.4g}" if isinstance(r["value"], float) else "-",
            r["epochs"] if r["epochs"] is not None else "-",
            r["status"],
        ]
        for r in runs
    ]
    headers = ["folder", "kind", "model", "data", "key metric", "epochs", "status"]
    table = tabulate(rows, headers=headers)
    if _width(table) <= (width or terminal_width()):
        return table
    # A bench's or a search's folder name says its kind: the kind goes with model and data.
    return tabulate([[r[0], *r[4:]] for r in rows], headers=[headers[0], *headers[4:]])


def _short(name: Any) -> Any:
    """``zoo.mlp:mlp`` -> ``mlp``: in a list of runs the plugin is noise."""
    return name.rpartition(":")[2] if isinstance(name, str) else name


def roles_table(columns: list[dict[str, str]]) -> str:
    """A CSV file's columns, each with its role and what was done with it."""
    rows = [(c["name"], c["role"], c.get("note", "")) for c in columns]
    return tabulate(rows, headers=("column", "role", "note"), disable_numparse=True)


def data_notes(metadata: dict[str, Any]) -> list[str]:
    """``zoo: ...`` lines about a data set's columns left out and its rows, for stderr."""
    columns = metadata.get("columns") or ()
    # Every column left out, and every used one with a warning (a leak) or a change (rare
    # categories pooled); a date's parsed parts are in the roles table, not worth a line.
    noted = [c for c in columns if c.get("note") and c["role"] not in ("date", "target")]
    lines = [f"zoo: column {shown(c['name'])}: {c['note']}" for c in noted]
    return lines + [f"zoo: {note}" for note in metadata.get("notes") or ()]


def epochs_text(count: int) -> str:
    """``1 epoch``, ``2 epochs``."""
    return f"{count} epoch{'' if count == 1 else 's'}"


def members_text(config: RunConfig) -> str:
    """``one model per fold of 5``, ``5 models (seeds 0-4)``, or both, averaged."""
    seeds = f"seeds {config.seed}-{config.seed + config.seed_ensemble - 1}"
    if not config.cross_validated:
        return f"{config.seed_ensemble} models ({seeds})"
    per_fold = f"one model per fold of {config.folds}"
    return per_fold if config.seed_ensemble == 1 else f"{per_fold} per seed ({seeds})"


def start_line(checked: Plan, first_epoch: int, *, resumed: bool) -> str:
    """``zoo: training mlp on housing for 100 epochs...``; a resume counts the epochs left."""
    config = checked.config
    what = f"{checked.model_label} on {checked.data_label}"
    if config.averaged:
        each = f"for {epochs_text(config.epochs)} each"
        return f"zoo: training {what}, {members_text(config)}, {each}..."
    if not resumed:
        return f"zoo: training {what} for {epochs_text(config.epochs)}..."
    left = max(0, config.epochs - first_epoch)
    return (
        f"zoo: resuming {what} after epoch {first_epoch} of {config.epochs}: "
        f"{epochs_text(left)} left..."
    )


def notes(checked: Plan, result: RunResult) -> list[str]:
    """One line each: how early stopping ended the run, and results no better than trivial."""
    from zoo.app.run import early_stop_note

    lines = []
    stopped = early_stop_note(result.history, checked.config.epochs, checked.config.patience)
    if stopped:
        lines.append(f"zoo: {stopped}")
    lines += [f"zoo: warning: {w}" for w in getattr(result, "warnings", [])]
    return lines


def result_json(checked: Plan, result: RunResult) -> dict[str, Any]:
    """The ``--json`` answer; its ``config`` is the resolved one, as in config.json."""
    return {
        "config": checked.to_dict(),
        "task": result.task,
        "metrics": result.metrics,
        "epochs_trained": len(result.history.get("loss", [])),
        "timings": result.timings,
        "warnings": list(getattr(result, "warnings", [])),
        "folder": str(result.folder) if result.folder else None,
    }
