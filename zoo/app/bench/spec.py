"""What a bench compares, as plain data saved in the bench folder and sent to workers, and
the bench folder itself (``runs/bench-YYYYmmdd-HHMMSS/``)."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from zoo.app.saved import ensemble_size
from zoo.core.config import RunConfig
from zoo.core.errors import InvalidParameterError, RunFolderError, ZooError, did_you_mean, shown
from zoo.plan.overrides import read_toml
from zoo.runs.folder import read_json, write_json

NAME_KEYS = ("model", "data", "preset")
BENCH_KEYS = ("repeats", "baselines", "set", "ignore")
PARAM_TABLES = ("model_params", "data_params", "preset_params")


@dataclass
class BenchSpec:
    """A grid of models x data sets x presets, each combination trained ``repeats`` times.

    Args:
        models, data, presets: names or shell-style wildcards (``'*'``); no presets means
            each data set's default preset.
        repeats: trainings per combination; repeat ``r`` uses seed ``base seed + r``.
        base: RunConfig keywords shared by every combination (epochs, seed, split_seed, ...);
            ``target`` and ``task`` go only to the data sets that take them (CSV files).
        sets: ``--set KEY=VALUE`` overrides, applied wherever the key belongs.
        ignore: ``--ignore``, columns to leave out (comma-separated), for each data set that
            takes an ``ignore`` parameter (CSV files).
        baselines: add scikit-learn reference rows on the same split.
        plugins: extra ``(name, module)`` plugins to load, in this process and in workers.
        ensemble: ``top-K``: each data set's K best zoo rows averaged into one more row, saved
            as a run (``""``: none).
    """

    models: list[str]
    data: list[str]
    presets: list[str] = field(default_factory=list)
    repeats: int = 1
    base: dict[str, Any] = field(default_factory=dict)
    sets: list[str] = field(default_factory=list)
    baselines: bool = True
    plugins: list[list[str]] = field(default_factory=list)
    ignore: str = ""
    ensemble: str = ""

    def __post_init__(self) -> None:
        ensemble_size(self.ensemble)  # a bad value fails before anything runs
        if not isinstance(self.ignore, str):
            raise InvalidParameterError(
                f"ignore must be column names in one string, comma-separated, e.g. "
                f'"id,notes"; received ignore={shown(self.ignore)}.'
            )
        if isinstance(self.repeats, bool) or not isinstance(self.repeats, int) or self.repeats < 1:
            raise InvalidParameterError(
                "repeats must be a whole number of at least 1; received "
                f"repeats={shown(self.repeats)}."
            )
        for key in ("models", "data"):
            if not getattr(self, key):
                raise InvalidParameterError(
                    f"A bench needs at least one name in {key}; give --{key} NAME[,NAME...] or "
                    f"set {key[:-1] if key == 'models' else key} = [...] in a grid file (-c)."
                )
        RunConfig(model="-", data="-", **self.base)  # checks epochs, batch_size, patience

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> BenchSpec:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def split_names(values: Any) -> list[str]:
    """``"a,b"``, ``["a", "b,c"]`` or None -> ``["a", "b", "c"]``, without duplicates."""
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    names = [part.strip() for item in items for part in str(item).split(",")]
    return list(dict.fromkeys(n for n in names if n))


def read_grid_file(path: str | Path) -> dict[str, Any]:
    """Read a grid file: an experiment file whose model, data and preset may be lists.

    Besides the RunConfig keys it takes ``repeats``, ``baselines``, ``set`` (a list of
    ``KEY=VALUE`` strings) and ``ignore`` (columns, as ``--ignore``). Returns the values by
    key, names as lists.

    Raises:
        InvalidParameterError: unreadable file, bad TOML, unknown key or wrong type.
    """
    path = Path(path)
    values = read_toml(path, "Grid file")
    for key, value in values.items():
        _check_grid_value(path, key, value)
    for key in NAME_KEYS:
        if key in values:
            values[key] = split_names(values[key])
    if "set" in values:
        values["set"] = [values["set"]] if isinstance(values["set"], str) else values["set"]
    return values


def _check_grid_value(path: Path, key: str, value: Any) -> None:
    defaults = RunConfig(model="-", data="-")
    known = [f.name for f in fields(RunConfig)] + list(BENCH_KEYS)
    if key not in known:
        raise InvalidParameterError(
            f"Grid file {path}: unknown key {shown(key)}.{did_you_mean(key, known)} "
            f"Valid keys: {', '.join(known)}."
        )
    if key in NAME_KEYS or key == "set":
        ok = isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        )
        expected = "a string or a list of strings"
    elif key in PARAM_TABLES:
        ok, expected = isinstance(value, dict), f"a table like [{key}]"
    elif key == "repeats":
        ok, expected = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif key == "baselines":
        ok, expected = isinstance(value, bool), "true or false"
    elif key == "ignore":
        ok, expected = isinstance(value, str), 'a string of columns, like "id,notes"'
    else:
        ok, expected = _matches_default(value, getattr(defaults, key))
    if not ok:
        raise InvalidParameterError(
            f"Grid file {path}: {key} must be {expected}; received {shown(value)}."
        )


def _matches_default(value: Any, default: Any) -> tuple[bool, str]:
    if default is None or value is None:
        return True, ""
    kind = type(default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return True, ""
    ok = isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
    return ok, f"{kind.__name__} (default {shown(default)})"


MANIFEST = "bench.json"
RESULTS = "results"
RUNS = "runs"


class BenchFolder:
    """One bench's folder on disk."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, runs_dir: str | Path, spec: BenchSpec) -> BenchFolder:
        runs = Path(runs_dir)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        try:
            runs.mkdir(parents=True, exist_ok=True)
            path, n = runs / f"bench-{stamp}", 1
            while path.exists():
                n += 1
                path = runs / f"bench-{stamp}-{n}"
            (path / RESULTS).mkdir(parents=True)
            (path / RUNS).mkdir()
        except OSError as exc:
            raise RunFolderError(
                f"Cannot create a bench folder under {runs}: {exc.strerror or exc}. "
                "Choose a writable --runs-dir."
            ) from None
        folder = cls(path)
        folder.write_manifest(spec=spec.to_dict(), status="running", created=_now())
        return folder

    @classmethod
    def open(cls, path: str | Path) -> BenchFolder:
        """An existing bench folder, to resume.

        Raises:
            RunFolderError: not a bench folder (no readable bench.json).
        """
        folder = cls(Path(path))
        try:
            values = folder.manifest()
        except (OSError, ValueError):
            raise RunFolderError(
                f"Cannot resume {path}: it is not a bench folder (no readable {MANIFEST}); "
                "give a folder that 'zoo bench' created, such as runs/bench-YYYYmmdd-HHMMSS."
            ) from None
        problem = manifest_problem(values)
        if problem:
            raise RunFolderError(
                f"Cannot resume {path}: {folder.path / MANIFEST} is damaged: {problem}. "
                "Restore it, or start a new bench without --resume."
            )
        return folder

    def prepare(self) -> None:
        """The folders results and runs go to (once the bench folder is held)."""
        try:
            (self.path / RESULTS).mkdir(exist_ok=True)
            (self.path / RUNS).mkdir(exist_ok=True)
        except OSError as exc:
            raise RunFolderError(f"Cannot write in {self.path}: {exc.strerror or exc}.") from None

    @property
    def runs_dir(self) -> Path:
        return self.path / RUNS

    def manifest(self) -> dict[str, Any]:
        return read_json(self.path / MANIFEST)

    def spec(self) -> BenchSpec:
        return BenchSpec.from_dict(self.manifest()["spec"])

    def write_manifest(self, **changes: Any) -> None:
        path = self.path / MANIFEST
        values = read_json(path) if path.exists() else {}
        values.update(changes, updated=_now())
        write_json(path, values)

    # -- results ---------------------------------------------------------------------------

    def result_path(self, key: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", key)[:80]
        digest = hashlib.sha1(key.encode()).hexdigest()[:8]  # distinct keys, distinct files
        return self.path / RESULTS / f"{safe}-{digest}.json"

    def save_result(self, record: dict[str, Any]) -> None:
        write_json(self.result_path(record["key"]), record)

    def results(self) -> dict[str, dict[str, Any]]:
        """Finished records by combination key; unreadable or malformed ones count as missing."""
        found = {}
        for path in sorted((self.path / RESULTS).glob("*.json")):
            try:
                record = read_json(path)
            except (OSError, ValueError):
                continue
            if _is_record(record) and path == self.result_path(record["key"]):
                found[record["key"]] = record
        return found


RECORD_STATUSES = ("ok", "failed", "skipped")


def _is_record(record: Any) -> bool:
    """A result as execute() writes it: its key, status and (when ok) metrics."""
    return (
        isinstance(record, dict)
        and isinstance(record.get("key"), str)
        and record.get("status") in RECORD_STATUSES
        and all(isinstance(record.get(k), str) for k in ("kind", "model", "data", "preset"))
        and isinstance(record.get("repeat"), int)
        and (record["status"] != "ok" or isinstance(record.get("metrics"), dict))
    )


SPEC_TYPES: dict[str, tuple[type, str]] = {
    "models": (list, "a list of names"),
    "data": (list, "a list of names"),
    "presets": (list, "a list of names"),
    "sets": (list, "a list of KEY=VALUE texts"),
    "plugins": (list, "a list of [name, module] pairs"),
    "repeats": (int, "a whole number"),
    "base": (dict, "a table of run options"),
    "baselines": (bool, "true or false"),
    "ignore": (str, "a text"),
}


def manifest_problem(values: Any) -> str:
    """What is wrong with a bench.json's shape, or '' when it can be resumed."""
    if not isinstance(values, dict):
        return f"expected an object with a spec, found {type(values).__name__}"
    spec = values.get("spec")
    if not isinstance(spec, dict):
        return "spec is missing or not an object"
    if not isinstance(values.get("parent_run_id") or "", str):
        return f"parent_run_id must be a text; found {shown(values['parent_run_id'])}"[:300]
    for key in ("models", "data"):
        if key not in spec:
            return f"spec.{key} is missing"
    for key, (kind, expected) in SPEC_TYPES.items():
        value = spec.get(key)
        if key in spec and (not isinstance(value, kind) or _wrong_items(key, value)):
            return f"spec.{key} must be {expected}; found {shown(value)}"[:300]
    try:
        BenchSpec.from_dict(spec)
    except (ZooError, TypeError) as exc:
        return f"spec: {' '.join(str(exc).split())}"[:300]
    return ""


def _wrong_items(key: str, value: Any) -> bool:
    if key == "repeats":
        return isinstance(value, bool)
    if key == "plugins":
        return not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p)
            for p in value
        )
    if key == "base":
        return not all(isinstance(k, str) for k in value)
    return isinstance(value, list) and not all(isinstance(v, str) for v in value)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")
