"""The built-in tabular networks with their defaults against gradient boosting.

    python benchmarks/tabular.py                        # housing, seeds 0-2, every model
    python benchmarks/tabular.py --corpus --seeds 0     # also the real-data corpus
    python benchmarks/tabular.py --corpus --models tabm --max-rows 2000

Housing: each model (``zoo run`` settings at their defaults: 100 epochs, batch 32, the
task's default preset, early stopping) for each seed, on the zoo's split (split seed 42),
against ``HistGradientBoostingRegressor`` (and LightGBM when installed) fitted on the same
training and validation rows, with ``random_state`` = the seed. The real-data corpus
(``benchmarks/corpus.py``) reuses ``benchmarks/realdata.py``: its reproduced split and its
gradient-boosting side; the zoo's side is the run's own test metric (R² or accuracy).

CPU cost: seconds per epoch per 10,000 training rows, from each run's fit time and epochs.
Writes ``benchmarks/results/tabular.json``, ``benchmarks/results/tabular.png`` and the
Markdown table to stdout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
MODELS = ("mlp", "resnet", "ft-transformer", "tabm")


def zoo_side(model: str, data: str, seed: int, **config) -> dict:
    import zoo

    started = time.perf_counter()
    result = zoo.run(zoo.RunConfig(model=model, data=data, seed=seed, **config), save=False)
    epochs = len(result.history["loss"])
    return {
        "metrics": result.metrics,
        "epochs": epochs,
        "fit_s": result.timings["fit_s"],
        "wall_s": round(time.perf_counter() - started, 2),
    }


def housing_parts():
    import zoo
    from zoo.train.runner import load_checked, split_for_training

    registry = zoo.Registry.discover(warn=False)
    checked = zoo.plan(zoo.RunConfig(model="mlp", data="housing"), registry)
    return split_for_training(load_checked(checked), checked.config)


def boosting_housing(seed: int) -> dict[str, float]:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    parts = housing_parts()
    x = np.concatenate([parts.x_train, parts.x_val])
    y = np.concatenate([parts.y_train, parts.y_val])
    found = {}
    with threadpool_limits(1):
        hgb = HistGradientBoostingRegressor(random_state=seed).fit(x, y)
        found["hgb"] = float(np.mean((hgb.predict(parts.x_test) - parts.y_test) ** 2))
        try:
            import lightgbm
        except ImportError:
            return found
        lgbm = lightgbm.LGBMRegressor(random_state=seed, verbose=-1).fit(x, y)
        found["lightgbm"] = float(np.mean((lgbm.predict(parts.x_test) - parts.y_test) ** 2))
    return found


def housing(models: list[str], seeds: list[int], record: dict) -> None:
    train_rows = len(housing_parts().x_train)
    for seed in seeds:
        for name, mse in boosting_housing(seed).items():
            record["housing"].setdefault(name, {})[str(seed)] = {"metrics": {"mse": mse}}
        for model in models:
            side = zoo_side(model, "housing", seed)
            side["s_per_epoch_10k"] = round(side["fit_s"] / side["epochs"] * 1e4 / train_rows, 2)
            record["housing"].setdefault(model, {})[str(seed)] = side
            print(f"housing {model} seed {seed}: {side}", file=sys.stderr, flush=True)
            save(record)


def corpus(models: list[str], seed: int, max_rows: int, record: dict) -> None:
    from corpus import DEFAULT_DIR, read_manifest
    from realdata import read_table, run_hgb, zoo_split

    for entry in read_manifest(DEFAULT_DIR).values():
        if entry["rows"] > max_rows:
            continue
        path, task, target = DEFAULT_DIR / entry["file"], entry["task"], entry["target"]
        table = read_table(path, target, task)
        train, test = zoo_split(table.y, task)
        key = "r2" if task == "regression" else "accuracy"
        row = {"task": task, "rows": entry["rows"], "metric": key}
        row["hgb"] = run_hgb(table, task, train, test).metrics[key]
        for model in models:
            try:
                side = zoo_side(model, str(path), seed, target=target)
                row[model] = side["metrics"][key]
            except Exception as exc:  # a model that cannot take a file is a result too
                row[model] = None
                row[f"{model}_error"] = str(exc).splitlines()[0][:200]
        record["corpus"][entry["name"]] = row
        print(f"corpus {entry['name']}: {row}", file=sys.stderr, flush=True)
        save(record)


def save(record: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tabular.json").write_text(json.dumps(record, indent=1))


def housing_table(record: dict) -> str:
    lines = ["| model | test MSE, seeds 0-2 (mean) | per seed | s / epoch / 10k rows |",
             "|---|---|---|---|"]  # fmt: skip
    for name, seeds in record["housing"].items():
        values = [s["metrics"]["mse"] for s in seeds.values()]
        cost = [s["s_per_epoch_10k"] for s in seeds.values() if "s_per_epoch_10k" in s]
        per_seed = ", ".join(f"{v:.2f}" for v in values)
        speed = f"{statistics.median(cost):.2f}" if cost else "-"
        lines.append(f"| {name} | {statistics.mean(values):.2f} | {per_seed} | {speed} |")
    return "\n".join(lines)


def corpus_table(record: dict, models: list[str]) -> str:
    if not record["corpus"]:
        return ""
    head = "| data set | rows | metric | HGB | " + " | ".join(models) + " |"
    lines = [head, "|---" * (4 + len(models)) + "|"]
    for name, row in record["corpus"].items():
        cells = [f"{row[m]:.3f}" if row.get(m) is not None else "failed" for m in models]
        lines.append(f"| {name} | {row['rows']} | {row['metric']} | {row['hgb']:.3f} | "
                     + " | ".join(cells) + " |")  # fmt: skip
    return "\n".join(lines)


def chart(record: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(record["housing"])
    values = [[s["metrics"]["mse"] for s in record["housing"][n].values()] for n in names]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.bar(names, [statistics.mean(v) for v in values], color="#4c72b0")
    for i, v in enumerate(values):
        ax.scatter([i] * len(v), v, color="black", s=10, zorder=3)
    ax.axhline(9.0, color="grey", linestyle="--", linewidth=1, label="target 9.0")
    ax.set_ylabel("test MSE (lower is better)")
    ax.set_title("housing, defaults, seeds 0-2 (dots: seeds)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "tabular.png", dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--corpus", action="store_true", help="also the real-data corpus")
    parser.add_argument("--corpus-models", default="tabm,ft-transformer")
    parser.add_argument("--max-rows", type=int, default=10_000)
    parser.add_argument("--skip-housing", action="store_true")
    args = parser.parse_args(argv)
    models, seeds = args.models.split(","), [int(s) for s in args.seeds.split(",")]
    path = RESULTS / "tabular.json"
    record = json.loads(path.read_text()) if path.exists() else {}
    record.setdefault("housing", {}), record.setdefault("corpus", {})
    if not args.skip_housing:
        record["housing"] = {}
        housing(models, seeds, record)
    if args.corpus:
        corpus(args.corpus_models.split(","), seeds[0], args.max_rows, record)
    chart(record)
    print(housing_table(record))
    print()
    print(corpus_table(record, args.corpus_models.split(",")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
