"""The built-in tabular networks with their defaults against gradient boosting.

    python benchmarks/tabular.py                        # housing, seeds 0-2, every model
    python benchmarks/tabular.py --corpus --seeds 0     # also the real-data corpus
    python benchmarks/tabular.py --skip-housing --corpus --seeds 1,2   # add corpus seeds
    python benchmarks/tabular.py --corpus --corpus-models tabm --max-rows 2000
    python benchmarks/tabular.py --skip-housing --tune resnet --seeds 0,1   # zoo tune
    python benchmarks/tabular.py --skip-housing --tune resnet --tune-reduce-lr
    python benchmarks/tabular.py --skip-housing --tune resnet --tune-reduce-lr --tune-refit 5

Housing: each model (``zoo run`` settings at their defaults: 100 epochs, the model's own
preset, batch size and seed ensemble, early stopping; resnet and ft-transformer also as one
model) for each seed, on the zoo's split (split seed 42),
against ``HistGradientBoostingRegressor`` (and LightGBM when installed) fitted on the same
training and validation rows, with ``random_state`` = the seed. The real-data corpus
(``benchmarks/corpus.py``) reuses ``benchmarks/realdata.py``: its reproduced split and its
gradient-boosting side; the zoo's side is ``zoo bench``'s test metric (R² or accuracy).

CPU cost (``--cost ROWS``): each model's default run on the first ROWS rows of a real file;
seconds per epoch per 10,000 training rows, from the run's fit time and epochs.

Tuned (``--tune MODEL[,MODEL]``): ``zoo tune --folds 5 --trials 30 --timeout 30m
--ensemble top-3`` of each model on housing, for each seed: the selected trial's, the top-3
ensemble's and the default configuration's test MSE (each its 5 fold models averaged)
beside tune's gradient-boosting baseline; ``--tune-reduce-lr`` tunes with ``--reduce-lr``,
``--tune-refit N`` with ``--refit N`` (the configurations scored are N seeds' models averaged).
Writes ``benchmarks/results/tabular.json``, ``benchmarks/results/tabular.png`` and the
Markdown table to stdout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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
        "batch_size": result.config.batch_size,
        "models": result.config.seed_ensemble,
        "fit_s": result.timings["fit_s"],
        "wall_s": round(time.perf_counter() - started, 2),
    }


def housing_parts(data: str = "housing", **config):
    """The zoo's training, validation and test parts of ``data``, as every run cuts them."""
    import zoo
    from zoo.train.runner import load_checked, split_for_training

    registry = zoo.Registry.discover(warn=False)
    checked = zoo.plan(zoo.RunConfig(model="mlp", data=data, **config), registry)
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
        for model, name, config in housing_variants(models):
            side = zoo_side(model, "housing", seed, **config)
            side["s_per_epoch_10k"] = epoch_cost(side, train_rows)
            record["housing"].setdefault(name, {})[str(seed)] = side
            print(f"housing {name} seed {seed}: {side}", file=sys.stderr, flush=True)
            save(record)


def epoch_cost(side: dict, train_rows: int) -> float:
    """Fit seconds per epoch of one model (a seed ensemble's fit is its models' sum), scaled
    to 10,000 training rows."""
    per_model = side["fit_s"] / side["models"] / side["epochs"]
    return round(per_model * 1e4 / train_rows, 3)


# Models that average 5 seeds on small data by default: also run alone, to show what it gives.
SEED_ENSEMBLED = ("resnet", "ft-transformer")


def housing_variants(models: list[str]) -> list[tuple[str, str, dict]]:
    """(model, row name, RunConfig options): each model with its defaults, and the seed
    ensembling ones also as one model."""
    found = [(model, model, {}) for model in models]
    alone = {"seed_ensemble": 1}
    return found + [(m, f"{m} (1 model)", alone) for m in models if m in SEED_ENSEMBLED]


def corpus(models: list[str], seeds: list[int], max_rows: int, record: dict) -> None:
    """Each corpus file up to ``max_rows``: gradient boosting (HGB, LightGBM when installed)
    and, per seed, one ``zoo bench`` of ``models`` with ``--ensemble top-N`` (all of them
    averaged, so no member is chosen by its test score), on the same split. Seeds already
    recorded for a file are kept: ``--seeds 1,2`` adds to an earlier ``--seeds 0``."""
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
        for library in BOOSTERS:
            try:
                row[library] = run_hgb(table, task, train, test, library).metrics[key]
            except ImportError:
                continue
        per_seed = record["corpus"].get(entry["name"], {}).get("per_seed", {})
        for seed in seeds:
            per_seed[str(seed)] = bench_file(path, target, models, seed, key)
        row["per_seed"] = per_seed
        for name in [*models, ENSEMBLE]:
            found = [s[name] for s in per_seed.values() if s.get(name) is not None]
            row[name] = statistics.mean(found) if found else None
        record["corpus"][entry["name"]] = row
        print(f"corpus {entry['name']}: {row}", file=sys.stderr, flush=True)
        save(record)


BOOSTERS = ("hgb", "lightgbm")
ENSEMBLE = "ensemble"


def bench_file(path: Path, target: str, models: list[str], seed: int, key: str) -> dict:
    """``zoo bench`` of the models with their defaults on one file: each row's test metric,
    the ensemble's as ``ensemble``, an error line for a failed row."""
    with tempfile.TemporaryDirectory() as runs:
        command = [sys.executable, "-m", "zoo", "bench", "-m", ",".join(models), "-d", str(path),
                   "--target", target, "--seed", str(seed), "--no-baselines", "--json",
                   "--runs-dir", runs, "--ensemble", f"top-{len(models)}"]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True)
    if not done.stdout.strip():
        return {f"{m}_error": done.stderr.strip()[-300:] for m in models}
    found: dict = {}
    for row in json.loads(done.stdout)["datasets"][0]["rows"]:
        name = ENSEMBLE if row["kind"] == ENSEMBLE else row["model"]
        found[name] = row["metrics"][key]["mean"] if row["status"] == "ok" else None
        if row["errors"]:
            found[f"{name}_error"] = str(row["errors"][0])[:300]
    return found


def cost(models: list[str], rows: int, record: dict) -> None:
    """Each model with its defaults on the first ``rows`` rows of the corpus's randhie_visits
    (a real file: 9 numeric columns, a count target): fit seconds per epoch, scaled to 10,000
    training rows, and the whole run's wall time."""
    from corpus import DEFAULT_DIR

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"randhie_{rows}.csv"
        lines = (DEFAULT_DIR / "randhie_visits.csv").read_text().splitlines()[: rows + 1]
        path.write_text("\n".join(lines) + "\n")
        train_rows = len(housing_parts(str(path), target="mdvis").x_train)
        for model in models:
            side = zoo_side(model, str(path), 0, target="mdvis")
            side["s_per_epoch_10k"] = epoch_cost(side, train_rows)
            record["cost"][model] = side
            print(f"cost {model}: {side}", file=sys.stderr, flush=True)
            save(record)


@dataclass(frozen=True)
class TuneProtocol:
    """How ``--tune`` runs ``zoo tune``: its trials and minutes, ``--reduce-lr``, ``--refit``."""

    trials: int = 30
    minutes: float = 30.0
    reduce_lr: bool = False
    refit: int = 0

    def label(self, model: str) -> str:
        """``resnet``, ``resnet, reduce-lr``, ``resnet, reduce-lr, refit 5``."""
        extras = ["reduce-lr"] * self.reduce_lr + [f"refit {self.refit}"] * bool(self.refit)
        return ", ".join([model, *extras])


def tuned(models: list[str], seeds: list[int], record: dict, protocol: TuneProtocol) -> None:
    """``zoo tune --folds 5 --ensemble top-3`` of each model on housing, per seed: what the
    tune folder's summary reports (trials, the best trial, every test-part row), recorded
    under ``protocol.label(model)``."""
    from zoo import Registry, RunConfig, plan
    from zoo.app.tune import TuneRequest, tune

    registry = Registry.discover()
    for model in models:
        for seed in seeds:
            asked = RunConfig(model=model, data="housing", seed=seed, epochs=200, patience=50,
                              validation_size=0.2, folds=5,
                              reduce_lr=protocol.reduce_lr)  # fmt: skip
            base = plan(asked, registry).config
            started = time.perf_counter()
            with tempfile.TemporaryDirectory() as folder:
                request = TuneRequest(base=base, trials=protocol.trials,
                                      timeout=protocol.minutes * 60, tune_dir=folder,
                                      ensemble="top-3", refit=protocol.refit)  # fmt: skip
                summary = tune(request, registry)
            label = protocol.label(model)
            record["tuned"].setdefault(label, {})[str(seed)] = {
                "trials": summary["trials"],
                "best": {k: summary["best"][k] for k in ("trial", "val_loss", "params")},
                "ensemble": (summary.get("ensemble") or {}).get("trials"),
                "test_mse": {row["name"]: row["metrics"]["mse"] for row in summary["comparison"]},
                "minutes": round((time.perf_counter() - started) / 60, 1),
            }
            print(f"tuned {label} seed {seed}: {record['tuned'][label][str(seed)]}",
                  file=sys.stderr, flush=True)  # fmt: skip
            save(record)


def tuned_table(record: dict) -> str:
    if not record.get("tuned"):
        return ""
    head = ["model", "seed", "trials (completed, pruned)", "minutes", "selected trial"]
    head += ["top-3 ensemble", "default configuration", "sklearn-gboost"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for model, seeds in record["tuned"].items():
        for seed, side in seeds.items():
            mse = {name.split(" (")[0]: value for name, value in side["test_mse"].items()}
            ensemble = mse.get("ensemble of top-3 trials")
            cells = [model, seed, "{complete}, {pruned}".format(**side["trials"])]
            cells += [str(side["minutes"]), f"#{side['best']['trial']}: {mse['best trial']:.2f}"]
            cells += [f"{ensemble:.2f}" if ensemble is not None else "-"]
            cells += [f"{mse[k]:.2f}" for k in ("default configuration", "sklearn-gboost")]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def save(record: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tabular.json").write_text(json.dumps(record, indent=1))


def housing_table(record: dict) -> str:
    lines = ["| model | models averaged | test MSE, seeds 0-2 (mean) | per seed "
             "| s / epoch / 10k rows | run s |", "|---|---|---|---|---|---|"]  # fmt: skip
    for name, seeds in record["housing"].items():
        runs = list(seeds.values())
        values = [s["metrics"]["mse"] for s in runs]
        per_seed = ", ".join(f"{v:.2f}" for v in values)
        count = runs[0].get("models", "-")
        cells = [_median(runs, "s_per_epoch_10k"), _median(runs, "wall_s")]
        lines.append(f"| {name} | {count} | {statistics.mean(values):.2f} | {per_seed} | "
                     + " | ".join(cells) + " |")  # fmt: skip
    return "\n".join(lines)


def _median(runs: list[dict], key: str) -> str:
    found = [r[key] for r in runs if key in r]
    return f"{statistics.median(found):.2f}" if found else "-"


def corpus_table(record: dict, models: list[str]) -> str:
    """Per file: the boosters, each model, the ensemble, and the best zoo row minus HGB."""
    if not record["corpus"]:
        return ""
    columns = [*BOOSTERS, *models, ENSEMBLE]
    head = "| data set | rows | metric | " + " | ".join(columns) + " | best zoo - HGB |"
    lines = [head, "|---" * (4 + len(columns)) + "|"]
    for name, row in record["corpus"].items():
        cells = [f"{row[c]:.3f}" if row.get(c) is not None else "-" for c in columns]
        gap = zoo_gap(row, models)
        shown = f"{gap:+.3f}" if gap is not None else "-"
        lines.append(f"| {name} | {row['rows']} | {row['metric']} | " + " | ".join(cells)
                     + f" | {shown} |")  # fmt: skip
    return "\n".join(lines) + "\n\n" + corpus_summary(record, models)


def zoo_gap(row: dict, names: list[str]) -> float | None:
    """The best of ``names`` (and the ensemble) minus HGB, on the file's metric."""
    return _gap(row, [*names, ENSEMBLE])


def _gap(row: dict, names: list[str]) -> float | None:
    found = [row[n] for n in names if row.get(n) is not None]
    return max(found) - row["hgb"] if found else None


def corpus_summary(record: dict, models: list[str]) -> str:
    """How many files each choice is at or ahead of HGB on, and the median difference."""
    rows = list(record["corpus"].values())
    choices = {name: [name] for name in [*models, ENSEMBLE]}
    choices["best zoo row"] = [*models, ENSEMBLE]
    lines = []
    for label, names in choices.items():
        gaps = [g for g in (_gap(row, names) for row in rows) if g is not None]
        ahead = sum(g >= 0 for g in gaps)
        median = statistics.median(gaps) if gaps else float("nan")
        lines.append(f"- {label}: at or ahead of HGB on {ahead} of {len(gaps)} files, "
                     f"median difference {median:+.3f}")  # fmt: skip
    return "\n".join(lines)


def cost_table(record: dict) -> str:
    if not record.get("cost"):
        return ""
    lines = ["| model | models | batch | epochs run | fit s | s / epoch / 10k rows | run wall s |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for model, side in record["cost"].items():
        lines.append(f"| {model} | {side.get('models', 1)} | {side['batch_size']} "
                     f"| {side['epochs']} | {side['fit_s']:.1f} | {side['s_per_epoch_10k']:.2f} "
                     f"| {side['wall_s']:.1f} |")  # fmt: skip
    return "\n".join(lines)


def chart(record: dict) -> None:
    """Housing's test MSE by model (bars: mean, dots: seeds) and, with the corpus, each
    file's ensemble minus HistGradientBoosting."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 2 if record["corpus"] else 1
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 3.6), squeeze=False)
    _housing_panel(axes[0][0], record["housing"])
    if record["corpus"]:
        _corpus_panel(axes[0][1], record["corpus"])
    fig.tight_layout()
    fig.savefig(RESULTS / "tabular.png", dpi=110)


def _housing_panel(ax, housing: dict) -> None:
    names = list(housing)
    values = [[s["metrics"]["mse"] for s in housing[n].values()] for n in names]
    ax.bar(names, [statistics.mean(v) for v in values], color="#4c72b0")
    for i, v in enumerate(values):
        ax.scatter([i] * len(v), v, color="black", s=10, zorder=3)
    ax.axhline(9.0, color="grey", linestyle="--", linewidth=1, label="target 9.0")
    ax.set_ylabel("test MSE (lower is better)")
    ax.set_title("housing, defaults, seeds 0-2 (dots: seeds)")
    ax.tick_params(axis="x", labelrotation=30)
    ax.legend()


def _corpus_panel(ax, corpus: dict) -> None:
    names = [n for n, row in corpus.items() if row.get(ENSEMBLE) is not None]
    gaps = [corpus[n][ENSEMBLE] - corpus[n]["hgb"] for n in names]
    colors = ["#55a868" if g >= 0 else "#c44e52" for g in gaps]
    ax.barh(names, gaps, color=colors)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("ensemble minus HistGradientBoosting (R² or accuracy)")
    seeds = sorted({seed for row in corpus.values() for seed in row.get("per_seed", {})})
    ax.set_title(f"real-data corpus, seeds {','.join(seeds)} (mean; green: zoo ahead)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--corpus", action="store_true", help="also the real-data corpus")
    parser.add_argument("--corpus-models", default="resnet,ft-transformer,tabm")
    parser.add_argument("--max-rows", type=int, default=10_000)
    parser.add_argument("--skip-housing", action="store_true")
    parser.add_argument(
        "--cost", type=int, default=0, metavar="ROWS", help="also time default runs on ROWS rows"
    )
    parser.add_argument("--tune", default="", metavar="MODELS", help="also zoo tune these")
    parser.add_argument("--tune-trials", type=int, default=30)
    parser.add_argument("--tune-minutes", type=float, default=30.0)
    parser.add_argument("--tune-reduce-lr", action="store_true", help="zoo tune --reduce-lr")
    parser.add_argument("--tune-refit", type=int, default=0, metavar="N", help="zoo tune --refit N")
    args = parser.parse_args(argv)
    models, seeds = args.models.split(","), [int(s) for s in args.seeds.split(",")]
    corpus_models = args.corpus_models.split(",")
    path = RESULTS / "tabular.json"
    record = json.loads(path.read_text()) if path.exists() else {}
    for section in ("housing", "corpus", "cost", "tuned"):
        record.setdefault(section, {})
    if not args.skip_housing:
        record["housing"] = {}
        housing(models, seeds, record)
    if args.cost:
        record["cost"] = {}
        cost(models, args.cost, record)
    if args.corpus:
        corpus(corpus_models, seeds, args.max_rows, record)
    if args.tune:
        protocol = TuneProtocol(
            args.tune_trials, args.tune_minutes, args.tune_reduce_lr, args.tune_refit
        )
        tuned(args.tune.split(","), seeds, record, protocol)
    chart(record)
    tables = housing_table(record), cost_table(record), corpus_table(record, corpus_models)
    print(*tables, tuned_table(record), sep="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
