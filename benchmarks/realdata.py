"""keras-zoo on messy real data sets, as they are, against scikit-learn's gradient boosting.

    python benchmarks/corpus.py                            # once: the raw CSV files
    python benchmarks/realdata.py                          # the zoo's defaults (100 epochs)
    python benchmarks/realdata.py --quick --only penguins,cars

For each corpus file (``benchmarks/corpus.py``): ``zoo run --model mlp --data FILE --target
COL`` with every other setting at its default and no clean-up of the file, against
``HistGradientBoostingRegressor/Classifier`` (defaults, random_state=0) on the same test rows.

The split is the zoo's, reproduced here (its public API gives the parts' arrays, not their
rows): rows with no target dropped, then for regression the first ceil(0.2 n) rows of
``numpy.random.RandomState(42).permutation(n)`` are the test part, for classification
``train_test_split(test_size=0.2, random_state=42, stratify=y)``. Gradient boosting fits on
all the other rows (the zoo keeps 10 % of them for validation). The reproduction is checked:
``zoo predict`` on the reproduced test rows must give the test metric the run reported
(column "split"); its predictions also give the zoo's balanced accuracy and multiclass AUC.

Gradient boosting gets numeric columns as they are (missing cells as NaN) and each text column
ordinal-encoded (sorted training values; missing or unseen as NaN) as a categorical feature;
a text column with more than 255 distinct training values (its category limit: names, IDs,
one date per row) is dropped, and so is a column empty in every training row (it cannot bin
one). It runs on one thread.

Writes the Markdown table to stdout and ``benchmarks/results/realdata.md``, the details to
``benchmarks/results/realdata.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

from corpus import DEFAULT_DIR, read_manifest, write_corpus  # noqa: E402
from measure import measure, zoo_run  # noqa: E402
from report import Section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
QUICK_EPOCHS = 5
MAX_CATEGORIES = 255  # HistGradientBoosting's limit for one categorical feature
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


@dataclass
class Side:
    """One contender's result on one file."""

    metrics: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    error: str = ""
    notes: dict = field(default_factory=dict)


@dataclass
class Result:
    name: str
    rows: int
    task: str
    zoo: Side
    hgb: Side
    split: str = "-"  # "ok", "differs" or "-" (not checked)


# -- the data and the split ----------------------------------------------------------------


@dataclass
class Table:
    """A corpus file read twice: parsed (for gradient boosting) and as raw strings (for
    ``zoo predict``), rows with no target dropped; the target as floats or class indices."""

    frame: pd.DataFrame
    raw: pd.DataFrame
    y: np.ndarray
    classes: list[str]
    dropped_rows: int


def read_table(path: Path, target: str, task: str) -> Table:
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    keep = frame[target].notna().to_numpy()
    frame, raw = frame[keep].reset_index(drop=True), raw[keep].reset_index(drop=True)
    values = frame.pop(target)
    raw = raw.drop(columns=target)
    if task == "regression":
        return Table(frame, raw, values.to_numpy("float64"), [], int((~keep).sum()))
    classes, y = np.unique(values.to_numpy(), return_inverse=True)
    return Table(frame, raw, y, [label_key(c) for c in classes], int((~keep).sum()))


def label_key(value: object) -> str:
    """A class label as text, whole floats without their ".0" (as ``zoo predict`` prints)."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def zoo_split(y: np.ndarray, task: str) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, test) of the zoo's split with test_size=0.2, split seed 42."""
    rows = len(y)
    if task == "regression":
        order = np.random.RandomState(42).permutation(rows)
        n_test = math.ceil(0.2 * rows)
        return order[n_test:], order[:n_test]
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(rows), test_size=0.2, random_state=42, stratify=y)


# -- metrics -------------------------------------------------------------------------------


def scores(task: str, y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """R² for regression; accuracy, balanced accuracy and AUC (one-vs-rest macro for
    multiclass) from class probabilities otherwise."""
    from sklearn import metrics

    if task == "regression":
        return {"r2": float(metrics.r2_score(y, predicted))}
    labels = predicted.argmax(axis=1)
    found = {
        "accuracy": float(metrics.accuracy_score(y, labels)),
        "balanced_accuracy": float(metrics.balanced_accuracy_score(y, labels)),
    }
    try:
        if task == "binary":
            found["auc"] = float(metrics.roc_auc_score(y, predicted[:, 1]))
        else:
            k = predicted.shape[1]
            found["auc"] = float(metrics.roc_auc_score(y, predicted, multi_class="ovr",
                                                       labels=list(range(k))))  # fmt: skip
    except ValueError:
        pass
    return found


# -- gradient boosting ---------------------------------------------------------------------


def hgb_inputs(frame: pd.DataFrame, train: np.ndarray) -> tuple[np.ndarray, list[bool], dict]:
    """Feature matrix, categorical mask, and which columns were encoded as categories or
    dropped (text with too many values, or empty in every training row)."""
    columns, categorical, notes = [], [], {"categorical": [], "dropped": []}
    for name in frame.columns:
        values = frame[name]
        if values.iloc[train].isna().all():  # scikit-learn cannot bin an empty column
            notes["dropped"].append(name)
            continue
        if pd.api.types.is_numeric_dtype(values):
            columns.append(values.to_numpy("float64"))
            categorical.append(False)
            continue
        seen = sorted(values.iloc[train].dropna().astype(str).unique())
        if len(seen) > MAX_CATEGORIES:
            notes["dropped"].append(name)
            continue
        codes = values.astype("object").map({v: float(i) for i, v in enumerate(seen)})
        columns.append(codes.to_numpy("float64"))  # missing and unseen: NaN
        categorical.append(True)
        notes["categorical"].append(name)
    return np.column_stack(columns), categorical, notes


def run_hgb(
    table: Table, task: str, train: np.ndarray, test: np.ndarray, library: str = "hgb"
) -> Side:
    """Gradient boosting with its defaults on the same rows: scikit-learn's
    HistGradientBoosting, or LightGBM (``library="lightgbm"``, when installed)."""
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    x, categorical, notes = hgb_inputs(table.frame, train)
    model, fit_options = _booster(library, task, categorical)
    # One thread: OpenMP's spinning threads slow it down tenfold on a busy two-core machine.
    with threadpool_limits(1):
        model.fit(x[train], table.y[train], **fit_options)
        predict = model.predict if task == "regression" else model.predict_proba
        predicted = predict(x[test])
    wall = time.perf_counter() - started
    return Side(scores(task, table.y[test], predicted), wall, notes=notes)


def _booster(library: str, task: str, categorical: list[bool]) -> tuple[object, dict]:
    """The estimator and its fit options; both libraries read the category codes as codes."""
    regression = task == "regression"
    if library == "lightgbm":
        import lightgbm

        kind = lightgbm.LGBMRegressor if regression else lightgbm.LGBMClassifier
        codes = [i for i, flag in enumerate(categorical) if flag]
        options = {"categorical_feature": codes} if codes else {}
        return kind(random_state=0, n_jobs=1, verbose=-1), options
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    kind = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
    return kind(categorical_features=categorical or None, random_state=0), {}


# -- the zoo -------------------------------------------------------------------------------


def run_zoo(path: Path, target: str, epochs: int | None, runs_dir: str) -> tuple[Side, dict]:
    """``zoo run`` on the file as it is: its reported metrics and wall time, or its error."""
    extra = ["--epochs", str(epochs)] if epochs else []
    command = zoo_run("--model", "mlp", "--data", str(path), "--target", target,
                      "--runs-dir", runs_dir, *extra)  # fmt: skip
    m = measure(command, ENV)
    if m.returncode != 0:
        return Side(wall_s=m.wall_s, error=error_message(m.stderr)), {}
    payload = json.loads(m.stdout)
    notes = {"epochs": payload.get("epochs_trained"), "fit_s": payload["timings"]["fit_s"]}
    notes["warnings"] = payload.get("warnings", [])
    return Side(dict(payload["metrics"]), m.wall_s, notes=notes), payload


def error_message(stderr: str) -> str:
    """The zoo's own error lines (``zoo: error: ...``, ``zoo: unexpected error: ...``), else
    the last lines of the output."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if line.startswith("zoo: ") and line.split(":", 2)[1].strip().endswith("error"):
            return " ".join(lines[i:])
    return " ".join(lines[-3:]) or "(no message)"


def zoo_left_out(folder: str) -> list[str]:
    """The file's columns the run's schema says were left out, with the reason."""
    path = Path(folder) / "data.json"
    columns = json.loads(path.read_text()).get("schema", {}).get("columns", [])
    left = [c for c in columns if c.get("note", "").startswith("left out")]
    return [f"{c['name']} ({c.get('role', '?')})" for c in left]


def zoo_predictions(folder: str, table: Table, test: np.ndarray, task: str) -> np.ndarray | None:
    """The saved run's outputs on the reproduced test rows, via ``zoo predict``: values for
    regression, class probabilities in the table's class order otherwise; None on failure."""
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "test.csv"
        table.raw.iloc[test].to_csv(inputs, index=False)
        m = measure([sys.executable, "-m", "zoo", "predict", folder, "-i", str(inputs)], ENV)
    if m.returncode != 0:
        return None
    out = pd.read_csv(io.StringIO(m.stdout), dtype=str, keep_default_na=False)
    if task == "regression":
        return out["prediction"].astype("float64").to_numpy()
    columns = {label_key(c[2:]): c for c in out.columns if c.startswith("p_")}
    if sorted(columns) != sorted(table.classes):
        return None
    return np.column_stack([out[columns[c]].astype("float64") for c in table.classes])


def check_split(zoo: Side, task: str, y_test: np.ndarray, outputs: np.ndarray | None) -> str:
    """Whether the zoo's own outputs on the reproduced test rows give its reported metric;
    adds the metrics the run does not report (balanced accuracy, multiclass AUC)."""
    if outputs is None:
        return "-"
    recomputed = scores(task, y_test, outputs)
    key = "r2" if task == "regression" else "accuracy"
    same = abs(recomputed[key] - zoo.metrics.get(key, float("nan"))) < 1e-3
    for name, value in recomputed.items():
        zoo.metrics.setdefault(name, value)
    return "ok" if same else f"differs ({key} {recomputed[key]:.4f})"


# -- one file, all files -------------------------------------------------------------------


def bench_file(record: dict, corpus: Path, epochs: int | None) -> Result:
    path = corpus / record["file"]
    task, target = record["task"], record["target"]
    table = read_table(path, target, task)
    train, test = zoo_split(table.y, task)
    hgb = run_hgb(table, task, train, test)
    hgb.notes["rows_without_target"] = table.dropped_rows
    with tempfile.TemporaryDirectory() as runs_dir:
        zoo, payload = run_zoo(path, target, epochs, runs_dir)
        result = Result(record["name"], record["rows"], task, zoo, hgb)
        if not zoo.error:
            zoo.notes["task"] = payload.get("task")
            zoo.notes["left_out"] = zoo_left_out(payload["folder"])
            outputs = zoo_predictions(payload["folder"], table, test, task)
            result.split = check_split(zoo, task, table.y[test], outputs)
    return result


METRICS = {"regression": ("r2",), "binary": ("accuracy", "balanced_accuracy", "auc"),
           "multiclass": ("accuracy", "balanced_accuracy")}  # fmt: skip
LABELS = {"r2": "R²", "accuracy": "accuracy", "auc": "AUC", "balanced_accuracy": "bal. accuracy"}


def table_rows(results: list[Result]) -> list[list[str]]:
    rows = [["data", "rows", "task", "metric", "zoo", "HGB", "zoo − HGB", "zoo wall (s)",
             "HGB wall (s)", "split"]]  # fmt: skip
    for r in results:
        for metric in METRICS[r.task]:
            zoo, hgb = r.zoo.metrics.get(metric), r.hgb.metrics.get(metric)
            diff = f"{zoo - hgb:+.3f}" if zoo is not None and hgb is not None else "-"
            zoo_text = "FAILED" if r.zoo.error else _num(zoo)
            rows.append([r.name, str(r.rows), r.task, LABELS[metric], zoo_text, _num(hgb), diff,
                         f"{r.zoo.wall_s:.1f}", f"{r.hgb.wall_s:.1f}", r.split])  # fmt: skip
    return rows


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def median_differences(results: list[Result]) -> dict[str, tuple[float, int]]:
    """Per metric, the median of zoo − HGB over the files where both sides have it."""
    found: dict[str, list[float]] = {}
    for r in results:
        for metric in METRICS[r.task]:
            zoo, hgb = r.zoo.metrics.get(metric), r.hgb.metrics.get(metric)
            if zoo is not None and hgb is not None:
                found.setdefault(metric, []).append(zoo - hgb)
    return {m: (statistics.median(v), len(v)) for m, v in found.items()}


def report(results: list[Result], epochs: int | None, elapsed: float) -> str:
    section = Section("keras-zoo on messy real data sets against HistGradientBoosting")
    section.rows = table_rows(results)
    medians = median_differences(results)
    failed = [r for r in results if r.zoo.error]
    summary = "; ".join(f"{LABELS[m]} {d:+.3f} over {n} files" for m, (d, n) in medians.items())
    section.notes = (
        f"`zoo run --model mlp`, {f'--epochs {epochs}' if epochs else 'default epochs'}, "
        f"no other option; {len(results) - len(failed)} of {len(results)} files ran. "
        f"Median zoo − HGB: {summary or 'none'}. Whole benchmark: {elapsed:.0f} s.\n\n"
        "split: ok when `zoo predict` on the reproduced test rows gives the metric the run "
        "reported. The zoo's balanced accuracy and multiclass AUC come from those predictions."
    )
    text = section.markdown()
    left = Section("Columns each side left out")
    left.rows = [["data", "zoo", "HGB"]] + [
        [r.name, _cell(", ".join(r.zoo.notes.get("left_out", [])) or "-"),
         _cell(", ".join(r.hgb.notes["dropped"]) or "-")]
        for r in results if not r.zoo.error
    ]  # fmt: skip
    text += "\n" + left.markdown()
    if failed:
        errors = Section("Files the zoo refused")
        errors.rows = [["data", "error"]] + [[r.name, _cell(r.zoo.error)] for r in failed]
        text += "\n" + errors.markdown()
    return text


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_DIR, help="corpus folder")
    parser.add_argument("--only", help="comma-separated corpus names")
    parser.add_argument("--epochs", type=int, help="passed to zoo run (default: the zoo's)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EPOCHS} epochs: a smoke run")
    parser.add_argument("--output", type=Path, default=RESULTS / "realdata.md")
    args = parser.parse_args(argv)
    epochs = args.epochs or (QUICK_EPOCHS if args.quick else None)
    records = read_manifest(args.corpus) or {r["name"]: r for r in write_corpus(args.corpus)}
    only = args.only.split(",") if args.only else list(records)
    missing = [name for name in only if name not in records]
    if missing:
        raise SystemExit(f"not in {args.corpus}: {', '.join(missing)}")
    started, results = time.perf_counter(), []
    for name in only:
        results.append(bench_file(records[name], args.corpus, epochs))
        print(_progress(results[-1]), file=sys.stderr)
    text = report(results, epochs, time.perf_counter() - started)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    details = [asdict(r) for r in results]
    args.output.with_suffix(".json").write_text(json.dumps(details, indent=1) + "\n")
    print(text)
    return 0


def _progress(r: Result) -> str:
    if r.zoo.error:
        return f"{r.name}: zoo failed: {r.zoo.error}"
    key = METRICS[r.task][0]
    return (f"{r.name}: {key} zoo {r.zoo.metrics.get(key, float('nan')):.3f}, "
            f"HGB {r.hgb.metrics.get(key, float('nan')):.3f}, {r.zoo.wall_s:.1f} s")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
