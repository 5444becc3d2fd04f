"""Plain-text and JSON views of registry entries, plugins and results, for the CLI."""

from __future__ import annotations

import json
from typing import Any

from tabulate import tabulate

from zoo.catalog.entries import Entry
from zoo.catalog.manager import PluginRecord
from zoo.catalog.registry import Registry


def _shape(entry: Entry) -> str:
    meta = entry.metadata
    shape = meta["shape"]
    shown = shape if isinstance(shape, str) else "x".join(str(n) for n in shape)
    return f"{meta['input_kind']} {shown}"


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
        ("tasks", lambda e: ", ".join(e.metadata["tasks"])),
        ("inputs", lambda e: ", ".join(e.metadata["input_kinds"])),
        ("plugin", lambda e: e.plugin),
        ("description", lambda e: e.description),
    ],
    "presets": [
        ("name", None),
        ("tasks", lambda e: ", ".join(e.metadata["tasks"])),
        ("plugin", lambda e: e.plugin),
        ("description", lambda e: e.description),
    ],
}


def entries_table(registry: Registry, kind: str, entries: list[Entry]) -> str:
    columns = COLUMNS[kind]
    rows = [
        [registry.display_name(e) if get is None else get(e) for _, get in columns] for e in entries
    ]
    return tabulate(rows, headers=[title for title, _ in columns], tablefmt="simple")


def entries_json(registry: Registry, entries: list[Entry]) -> str:
    return to_json([registry.describe(e.qualified_name) for e in entries])


def info_text(about: dict[str, Any]) -> str:
    meta = about["metadata"]
    lines = [
        f"{about['name']} ({about['kind']}) - {meta.get('description', '')}",
        f"  plugin: {about['plugin']} {about['plugin_version']}  "
        f"(qualified name {about['qualified_name']})",
    ]
    for key, value in meta.items():
        if key != "description" and value not in ("", None):
            shown = ", ".join(map(str, value)) if isinstance(value, tuple) else value
            lines.append(f"  {key}: {shown}")
    if about["params"]:
        rows = [[p["name"], p["type"], repr(p["default"]), p["help"]] for p in about["params"]]
        table = tabulate(rows, headers=["hyperparameter", "type", "default", "help"])
        lines += ["", table]
    else:
        lines += ["", "No hyperparameters."]
    return "\n".join(lines)


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
    return tabulate(rows, headers=["plugin", "version", "origin", "status", "contributes"])


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
    return tabulate(rows, headers=["test metric", "value"], colalign=("left", "right"))


def to_json(payload: Any) -> str:
    return json.dumps(payload, indent=2, default=_jsonable)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, set)):
        return list(value)
    return str(value)


def runs_table(runs: list[dict[str, Any]]) -> str:
    rows = [
        [
            r["folder"],
            r["model"],
            r["data"],
            f"{r['metric']} {r['value']:.4g}" if isinstance(r["value"], float) else "-",
            r["epochs"] if r["epochs"] is not None else "-",
            r["status"],
        ]
        for r in runs
    ]
    return tabulate(rows, headers=["run", "model", "data", "key metric", "epochs", "status"])
