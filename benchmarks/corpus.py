"""A corpus of messy real tabular data sets, written as raw CSV files with a manifest.

    python benchmarks/corpus.py                      # into benchmarks/.work/realdata/
    python benchmarks/corpus.py /tmp/realdata --only penguins,cars

Every file comes from data that an installed package ships (statsmodels, scikit-learn,
palmerpenguins, vega_datasets: ``pip install -e ".[bench]"``); nothing is downloaded. The mess
stays in: missing values as empty cells, text categories as text, dates as ISO strings, ID
columns, the source's row order. Where the real sets lack a kind of mess, a derived file adds
it (marked ``derived`` in ``manifest.json``), always with fixed seeds: the same packages write
the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = ROOT / "benchmarks" / ".work" / "realdata"
MANIFEST = "manifest.json"

SKLEARN = "scikit-learn bundled data (BSD-3-Clause package)"
VEGA = "vega_datasets local data (BSD-3-Clause package)"
PUBLIC = "public domain (statsmodels: 'This is public domain.')"


@dataclass(frozen=True)
class Entry:
    """One corpus file: how to build it and what it is."""

    name: str
    target: str
    task: str
    source: str
    licence: str
    mess: list[str]
    build: Callable[[], pd.DataFrame] = field(repr=False)
    derived: str = ""  # what was added to the source, when anything was

    @property
    def file(self) -> str:
        return f"{self.name}.csv"


# -- helpers -------------------------------------------------------------------------------


def statsmodels_frame(name: str) -> pd.DataFrame:
    """A statsmodels data set as it loads (``statsmodels.datasets.NAME.load_pandas``)."""
    import importlib

    return importlib.import_module(f"statsmodels.datasets.{name}").load_pandas().data.copy()


def whole_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns that hold only whole numbers (statsmodels loads codes as floats) back
    to integers, as the source files write them."""
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind == "f" and values.notna().all() and (values % 1 == 0).all():
            frame[column] = values.astype("int64")
    return frame


def inject_missing(
    frame: pd.DataFrame, columns: list[str], share: float, seed: int
) -> pd.DataFrame:
    """Blank ``share`` of the cells of each of ``columns``, chosen at random (seeded)."""
    rng = np.random.RandomState(seed)
    for column in columns:
        blank = rng.random_sample(len(frame)) < share
        frame[column] = frame[column].mask(blank)
    return frame


NAMES = (
    "Ada Alan Ana Ben Carla Chen David Elena Emma Farah Grace Hugo Ines Ivan Jana Jonas",
    "Kofi Lara Leo Lina Marco Maya Nina Noah Olga Omar Paula Raj Sara Tomas Yuki Zoe",
    "Adams Bauer Costa Diaz Evans Fischer Garcia Hansen Ito Jensen Kim Lopez Martin Meyer Novak",
    "Okafor Patel Quinn Rossi Santos Schmidt Silva Tanaka Ueda Varga Weber Wong Young Zhang Ahmed",
)


def fake_names(rows: int, seed: int) -> list[str]:
    """Free-text person names, mostly distinct (32 x 31 combinations), seeded."""
    first = f"{NAMES[0]} {NAMES[1]}".split()
    last = f"{NAMES[2]} {NAMES[3]}".split()
    rng = np.random.RandomState(seed)
    picks = zip(rng.randint(len(first), size=rows), rng.randint(len(last), size=rows), strict=True)
    return [f"{first[i]} {last[j]}" for i, j in picks]


def iso_dates(rows: int, start: str, days: int, seed: int) -> list[str]:
    """Random ISO dates within ``days`` after ``start``, seeded."""
    offsets = np.random.RandomState(seed).randint(days, size=rows)
    return [d.strftime("%Y-%m-%d") for d in pd.Timestamp(start) + pd.to_timedelta(offsets, "D")]


def sklearn_frame(loader: Callable, **kwargs) -> pd.DataFrame:
    """A scikit-learn bundled data set (never a ``fetch_*`` one) as one frame."""
    return loader(as_frame=True, **kwargs).frame.copy()


# -- the files -----------------------------------------------------------------------------


def penguins() -> pd.DataFrame:
    from palmerpenguins import load_penguins

    return load_penguins()


def penguins_raw() -> pd.DataFrame:
    from palmerpenguins import load_penguins_raw

    return load_penguins_raw()


def cars() -> pd.DataFrame:
    from vega_datasets import local_data

    return local_data("cars")


def seattle_weather() -> pd.DataFrame:
    from vega_datasets import local_data

    return local_data("seattle-weather")


def temps_hourly() -> pd.DataFrame:
    """Hourly temperatures of Seattle and San Francisco in 2010, one block per city."""
    from vega_datasets import local_data

    blocks = []
    for city, name in (("Seattle", "seattle-temps"), ("San Francisco", "sf-temps")):
        frame = local_data(name)
        blocks.append(pd.DataFrame({"date": frame["date"], "city": city, "temp": frame["temp"]}))
    return pd.concat(blocks, ignore_index=True)


def grunfeld() -> pd.DataFrame:
    return whole_numbers(statsmodels_frame("grunfeld"))


def fair_affairs() -> pd.DataFrame:
    """Fair's survey with the binary target of statsmodels' own example: any affair at all."""
    frame = whole_numbers(statsmodels_frame("fair"))
    frame["had_affair"] = np.where(frame.pop("affairs") > 0, "yes", "no")
    return frame


def randhie_visits() -> pd.DataFrame:
    return whole_numbers(statsmodels_frame("randhie"))


def randhie_rare() -> pd.DataFrame:
    """RAND HIE with a rare binary target and added mess (see the manifest)."""
    frame = whole_numbers(statsmodels_frame("randhie"))
    rows = len(frame)
    ids = np.random.RandomState(7).permutation(rows)
    frame.insert(0, "record_id", [f"HIE-{i:06d}" for i in ids])
    wave = np.full(rows, 1974)
    late = np.arange(rows) >= int(0.8 * rows)
    wave[late] = 1975 + np.random.RandomState(8).randint(3, size=late.sum())
    frame["wave"] = wave
    frame = inject_missing(frame, ["lpi", "disea", "physlm"], 0.07, seed=9)
    frame["heavy_user"] = np.where(frame.pop("mdvis") >= 12, "yes", "no")
    return frame


MODES = {1: "air", 2: "train", 3: "bus", 4: "car"}


def modechoice() -> pd.DataFrame:
    frame = whole_numbers(statsmodels_frame("modechoice"))
    frame["mode"] = frame["mode"].map(MODES)
    return frame


PARTY = (
    "Strong Democrat",
    "Weak Democrat",
    "Independent-Democrat",
    "Independent-Independent",
    "Independent-Republican",
    "Weak Republican",
    "Strong Republican",
)


def anes96() -> pd.DataFrame:
    """The 1996 election study with party identification and vote as their labels."""
    frame = whole_numbers(statsmodels_frame("anes96").drop(columns="logpopul"))
    frame["vote"] = frame["vote"].map({0: "Clinton", 1: "Dole"})
    frame["PID"] = frame["PID"].map(dict(enumerate(PARTY)))
    return frame


def macrodata() -> pd.DataFrame:
    """US quarterly macro data with the quarter's first day as an ISO date in front."""
    frame = whole_numbers(statsmodels_frame("macrodata"))
    starts = pd.PeriodIndex.from_fields(year=frame["year"], quarter=frame["quarter"], freq="Q")
    frame.insert(0, "date", starts.start_time.strftime("%Y-%m-%d"))
    return frame


def fertility() -> pd.DataFrame:
    return statsmodels_frame("fertility")


def breast_cancer_messy() -> pd.DataFrame:
    """The Wisconsin biopsies with patient IDs, names, visit dates and blanked cells."""
    from sklearn.datasets import load_breast_cancer

    frame = sklearn_frame(load_breast_cancer)
    rows = len(frame)
    frame.insert(0, "patient_id", [f"P{842000 + 37 * i:07d}" for i in range(rows)])
    frame.insert(1, "patient_name", fake_names(rows, seed=11))
    frame.insert(2, "visit_date", iso_dates(rows, "1993-01-01", 4 * 365, seed=12))
    columns = ["mean radius", "mean texture", "worst smoothness", "area error"]
    frame = inject_missing(frame, columns, 0.08, seed=13)
    frame["diagnosis"] = np.where(frame.pop("target") == 0, "malignant", "benign")
    return frame


def wine() -> pd.DataFrame:
    from sklearn.datasets import load_wine

    frame = sklearn_frame(load_wine)
    frame["cultivar"] = frame.pop("target").map(lambda i: f"class_{i}")
    return frame


def digits() -> pd.DataFrame:
    from sklearn.datasets import load_digits

    frame = whole_numbers(sklearn_frame(load_digits))
    frame["digit"] = frame.pop("target")
    return frame


def diabetes() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    frame = sklearn_frame(load_diabetes, scaled=False)
    frame["progression"] = frame.pop("target")
    return whole_numbers(frame)


STATSMODELS = "statsmodels.datasets"
PENGUINS = "CC0 1.0 (Horst, Hill & Gorman; Palmer Station LTER)"
ENTRIES = [
    Entry(
        "penguins", "species", "multiclass", "palmerpenguins.load_penguins", PENGUINS,
        ["missing cells in 5 columns", "text categories", "rows sorted by the target"],
        penguins,
    ),
    Entry(
        "penguins_raw", "Body Mass (g)", "regression", "palmerpenguins.load_penguins_raw",
        PENGUINS,
        ["column names with spaces and brackets", "2 rows with no target",
         "ID columns (studyName, Sample Number, Individual ID)", "ISO date (Date Egg)",
         "constant text columns (Region, Stage)", "free text with commas (Comments, 84 % empty)",
         "long text species names", "missing cells"],
        penguins_raw,
    ),
    Entry(
        "cars", "Miles_per_Gallon", "regression", f"{VEGA}: cars (StatLib / UCI Auto MPG)",
        "vega-datasets; source data public (UCI Auto MPG)",
        ["8 rows with no target", "missing Horsepower", "high-cardinality name (Name)",
         "ISO date (Year)", "text category (Origin)"],
        cars,
    ),
    Entry(
        "seattle_weather", "weather", "multiclass", f"{VEGA}: seattle-weather",
        "NOAA data, public domain",
        ["ISO date with a distinct value per row", "imbalanced classes (snow 1.6 %)"],
        seattle_weather,
    ),
    Entry(
        "temps_hourly", "temp", "regression", f"{VEGA}: seattle-temps and sf-temps stacked",
        "NOAA data, public domain",
        ["date-time strings as the main signal", "text category (city)",
         "rows in blocks: all Seattle, then all San Francisco"],
        temps_hourly, derived="the two cities' files stacked, with a city column",
    ),
    Entry(
        "grunfeld", "invest", "regression", f"{STATSMODELS}.grunfeld", PUBLIC,
        ["text category (firm)", "rows sorted by firm", "year as a number"],
        grunfeld,
    ),
    Entry(
        "fair_affairs", "had_affair", "binary", f"{STATSMODELS}.fair",
        "included in statsmodels with the author's permission (Fair 1978)",
        ["integer codes for categories (occupation, religious)", "text labels yes/no"],
        fair_affairs,
        derived="target had_affair = affairs > 0 (statsmodels' example); affairs dropped",
    ),
    Entry(
        "randhie_visits", "mdvis", "regression", f"{STATSMODELS}.randhie", PUBLIC,
        ["heavy-tailed count target (median 1, max 77)", "many whole-number columns"],
        randhie_visits,
    ),
    Entry(
        "randhie_rare", "heavy_user", "binary", f"{STATSMODELS}.randhie", PUBLIC,
        ["imbalanced target (3.8 % yes)", "row-ID column (record_id)",
         "7 % missing cells in lpi, disea, physlm",
         "column constant in the first 80 % of rows (wave)"],
        randhie_rare,
        derived="target heavy_user = mdvis >= 12 (mdvis dropped); record_id, wave and the "
        "blank cells added (seeds 7, 8, 9)",
    ),
    Entry(
        "modechoice", "choice", "binary", f"{STATSMODELS}.modechoice", PUBLIC,
        ["ID column (individual, 4 rows each)", "text category (mode)", "25 % positive"],
        modechoice, derived="mode codes 1-4 written as their documented labels",
    ),
    Entry(
        "anes96", "PID", "multiclass", f"{STATSMODELS}.anes96", PUBLIC,
        ["7 ordered classes as text", "text category (vote)", "integer-coded scales"],
        anes96,
        derived="PID and vote codes written as their documented labels; logpopul (computed "
        "by statsmodels) dropped",
    ),
    Entry(
        "macrodata", "realinv", "regression", f"{STATSMODELS}.macrodata", PUBLIC,
        ["ISO date (one per row)", "time-ordered rows", "year and quarter columns"],
        macrodata, derived="date column from year and quarter",
    ),
    Entry(
        "fertility", "2011", "regression", f"{STATSMODELS}.fertility",
        "World Bank terms of use (see statsmodels.datasets.fertility.COPYRIGHT)",
        ["numeric column names", "all-empty columns (2012, 2013)",
         "constant text columns (Indicator Name, Indicator Code)",
         "ID and name columns (Country Code, Country Name)", "17 rows with no target",
         "missing cells (9 % outside the empty columns)"],
        fertility,
    ),
    Entry(
        "breast_cancer_messy", "diagnosis", "binary", f"{SKLEARN}: load_breast_cancer",
        "CC BY 4.0 (UCI Breast Cancer Wisconsin (Diagnostic))",
        ["row-ID column (patient_id)", "high-cardinality free text (patient_name)",
         "ISO date (visit_date)", "8 % missing cells in 4 columns", "text labels",
         "column names with spaces"],
        breast_cancer_messy,
        derived="patient_id, patient_name, visit_date and the blank cells added (seeds 11, "
        "12, 13); target written as malignant/benign",
    ),
    Entry(
        "wine", "cultivar", "multiclass", f"{SKLEARN}: load_wine", "CC BY 4.0 (UCI Wine)",
        ["a column name with a slash", "text labels"],
        wine, derived="target written as its target_names (class_0, class_1, class_2)",
    ),
    Entry(
        "digits", "digit", "multiclass", f"{SKLEARN}: load_digits",
        "CC BY 4.0 (UCI Optical Recognition of Handwritten Digits)",
        ["constant columns (pixels that are always 0)", "whole-number target with 10 values"],
        digits,
    ),
    Entry(
        "diabetes", "progression", "regression", f"{SKLEARN}: load_diabetes(scaled=False)",
        "BSD-3-Clause (scikit-learn; Efron et al. 2004)",
        ["sex coded 1/2", "no mess: a clean reference"],
        diabetes,
    ),
]  # fmt: skip


# -- writing -------------------------------------------------------------------------------


def write_entry(entry: Entry, folder: Path) -> dict:
    """Write one file; its manifest record (with rows, columns and the sha256 of the bytes)."""
    frame = entry.build()
    path = folder / entry.file
    frame.to_csv(path, index=False, lineterminator="\n")
    record = {k: v for k, v in asdict(entry).items() if k != "build"}
    return {
        "file": entry.file,
        **record,
        "rows": len(frame),
        "columns": frame.shape[1],
        "missing_share": round(float(frame.isna().to_numpy().mean()), 4),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }


def write_corpus(folder: Path, only: list[str] | None = None) -> list[dict]:
    """Write the chosen files (all by default) and the manifest of what the folder holds."""
    folder.mkdir(parents=True, exist_ok=True)
    unknown = set(only or []) - {e.name for e in ENTRIES}
    if unknown:
        raise SystemExit(f"unknown corpus file(s): {', '.join(sorted(unknown))}")
    records = read_manifest(folder)
    for entry in ENTRIES:
        if only is None or entry.name in only:
            records[entry.name] = write_entry(entry, folder)
            print(f"{entry.file}: {records[entry.name]['rows']} rows", file=sys.stderr)
    ordered = [records[e.name] for e in ENTRIES if e.name in records]
    (folder / MANIFEST).write_text(json.dumps(ordered, indent=1) + "\n")
    return ordered


def read_manifest(folder: Path) -> dict[str, dict]:
    """The manifest's records by name; empty when the folder has none."""
    path = folder / MANIFEST
    if not path.exists():
        return {}
    return {r["name"]: r for r in json.loads(path.read_text())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--only", help="comma-separated names, e.g. penguins,cars")
    args = parser.parse_args(argv)
    only = args.only.split(",") if args.only else None
    records = write_corpus(args.folder, only)
    print(f"{len(records)} files and {MANIFEST} in {args.folder}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
