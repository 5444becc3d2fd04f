"""Expanding a bench spec into combinations: names resolved, sets applied, every one planned.

Every model on a data set gets the same split, the same epochs and, repeat by repeat, the same
seed (base seed + repeat index, times N with ``--seed-ensemble N`` so that no two repeats share
a member), so the rows of a leaderboard are comparable. A combination that cannot train
together is skipped with the reason; nothing is imported from TensorFlow.

The data options (``--target``, ``--task``, ``--ignore``, and ``--set target=...``) go to each
data set of the grid that takes them (a CSV file, not a registered data set with its own
target): ``--data housing,prices.csv --target price`` gives the target to prices.csv only. An
option that no data set of the grid takes is an error, as it is for ``zoo run``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from zoo import Plan, Registry, RunConfig, plan
from zoo.catalog.entries import Entry
from zoo.core.errors import IncompatibleError, UnknownNameError, ZooError, shown
from zoo.plan.data_choice import DATA_OPTIONS, data_entry, fold_option, refused_option, takes

from .spec import BenchSpec

WILDCARD_CHARS = "*?["
BASELINES = ("sklearn-linear", "sklearn-gboost")
ZOO, BASELINE = "zoo", "baseline"


@dataclass(frozen=True)
class Combination:
    """One training (or baseline fit) of the grid, described by plain data.

    ``config`` holds the RunConfig keywords; ``key`` names the combination in the bench
    folder, so a resumed bench knows which ones are done.
    """

    kind: str
    model: str
    data: str
    preset: str
    repeat: int
    config: dict[str, Any] = field(hash=False, compare=False)
    # The resolved plan, for a combination trained in this process; workers and cluster
    # nodes get ``config`` (plain data) and plan it once there.
    plan: Plan | None = field(default=None, hash=False, compare=False, repr=False)

    @property
    def key(self) -> str:
        return f"{self.model}|{self.data}|{self.preset}|{self.repeat}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "model": self.model,
            "data": self.data,
            "preset": self.preset,
            "repeat": self.repeat,
            "config": self.config,
            "key": self.key,
        }


@dataclass(frozen=True)
class Skipped:
    model: str
    data: str
    preset: str
    reason: str


@dataclass
class Grid:
    combinations: list[Combination] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def expand(spec: BenchSpec, registry: Registry) -> Grid:
    """Every combination of the spec, planned; incompatible ones skipped with the reason.

    Raises:
        UnknownNameError: a name (not a wildcard) that no plugin registered, or a wildcard
            that matches nothing.
        InvalidParameterError: a ``--set`` that fits no combination, or a bad value.
    """
    models, wild = _names(registry, "models", spec.models)
    datasets, wild_data = _names(registry, "datasets", spec.data)
    presets, wild_presets = _names(registry, "presets", spec.presets)
    wild |= wild_data | wild_presets
    _check_data_options(spec, registry, datasets)
    grid, used = Grid(), set()
    for data in datasets:
        firsts: list[Combination] = []
        entry, base = _data_values(spec, registry, data)
        for model in models:
            for preset in presets or [None]:
                names = {"model": model, "data": data, "preset": preset}
                try:
                    planned = _plan_combination(spec, registry, names, used, (entry, base))
                except ZooError as exc:
                    if not isinstance(exc, IncompatibleError) and not wild & set(names.values()):
                        raise
                    grid.skipped.append(Skipped(model, data, preset or "default", str(exc)))
                    continue
                grid.combinations.extend(planned)
                firsts = firsts or planned
        if spec.baselines and firsts:
            grid.combinations.extend(_baselines(firsts))
    _check_sets_used(spec, registry, used, grid, datasets)
    return grid


def _names(registry: Registry, kind: str, given: list[str]) -> tuple[list[str], set[str]]:
    """Names in the order given; wildcards expanded to display names (and remembered)."""
    names: list[str] = []
    wild: set[str] = set()
    for item in given:
        if any(c in item for c in WILDCARD_CHARS):
            found = [registry.display_name(e) for e in registry.list(kind, item)]
            if not found:
                raise UnknownNameError(
                    f"No {kind[:-1]} matches {shown(item)}; installed {kind}: "
                    f"{', '.join(registry.names(kind))}."
                )
            wild.update(found)
            names.extend(found)
        else:
            if kind != "datasets":  # a data string may also be a CSV file; plan resolves it
                registry.get(item, kind)
            names.append(item)
    return list(dict.fromkeys(names)), wild


def _check_data_options(spec: BenchSpec, registry: Registry, datasets: list[str]) -> None:
    """A data option (``--target``...) that no data set of the grid takes is an error."""
    given = {"target": spec.base.get("target"), "task": spec.base.get("task")}
    given["ignore"] = spec.ignore or None
    for key, value in given.items():
        if value is not None and not _taken(registry, datasets, key):
            raise refused_option(key, value, datasets)


def _taken(registry: Registry, datasets: list[str], key: str) -> bool:
    """Whether some data set of the grid takes data option ``key``."""
    return any(takes(data_entry(registry, data)[0], key) for data in datasets)


def _data_values(spec: BenchSpec, registry: Registry, data: str) -> tuple[Entry, dict[str, Any]]:
    """Data set ``data``'s entry, and the spec's run options for it: ``target`` and ``task``
    only if it takes them, ``ignore`` folded into its data params if it takes that."""
    entry, _ = data_entry(registry, data)
    values = dict(spec.base)
    for key in ("target", "task"):
        if values.get(key) is not None and not takes(entry, key):
            del values[key]
    if spec.ignore and takes(entry, "ignore"):
        params = values.get("data_params")
        values["data_params"] = fold_option(registry, data, params, "ignore", spec.ignore)
    return entry, values


def _plan_combination(
    spec: BenchSpec,
    registry: Registry,
    names: dict[str, Any],
    used: set[str],
    data: tuple[Entry, dict[str, Any]],
) -> list[Combination]:
    entry, base = data
    values = {**base, **names}
    # Names and compatibility, with only the --set values the data set takes: a CSV file's
    # task (so the default preset) may hang on its target.
    first = [item for item in spec.sets if _sets_data(item, entry)]
    checked = plan(RunConfig(**values), registry, first)
    sets = [item for item in spec.sets if _belongs(item, checked)]
    used.update(sets)
    base_seed = values.get("seed", 0)
    full = plan(RunConfig(**{**values, "seed": base_seed}), registry, sets)
    planned = []
    stride = full.config.seed_ensemble  # repeats of a seed ensemble share no member
    for repeat in range(spec.repeats):
        # A repeat differs by its seed only, which resolves nothing: the plan is reused.
        seed = base_seed + repeat * stride
        repeated = replace(full, config=replace(full.config, seed=seed))
        planned.append(
            Combination(
                ZOO,
                names["model"],
                names["data"],
                names["preset"] or checked.preset.name,
                repeat,
                _plain_config(repeated.config),
                repeated,
            )
        )
    return planned


def _sets_data(item: str, entry: Entry) -> bool:
    """Whether a --set names a parameter of data set ``entry`` (``data.rows``, ``target``)."""
    section, dot, name = item.partition("=")[0].strip().partition(".")
    return section == "data" and takes(entry, name) if dot else takes(entry, section)


def _belongs(item: str, checked: Any) -> bool:
    """Whether a --set names a hyperparameter of this combination (or a run option)."""
    key = item.partition("=")[0].strip()
    entries = {"model": checked.model, "data": checked.data, "preset": checked.preset}
    section, dot, name = key.partition(".")
    if dot:
        entry = entries.get(section)
        return entry is None or any(p.name == name for p in entry.params)
    if key in DATA_OPTIONS:  # --set target=COL: for the data sets that take one
        return takes(checked.data, key)
    run_fields = {f.name for f in fields(RunConfig)}
    return key in run_fields or any(
        p.name == key for entry in entries.values() for p in entry.params
    )


def _check_sets_used(
    spec: BenchSpec, registry: Registry, used: set[str], grid: Grid, datasets: list[str]
) -> None:
    """A --set that no combination has a place for is an error (a typo, most likely)."""
    unused = []
    for item in spec.sets:
        key, _, value = (part.strip() for part in item.partition("="))
        if item in used or (key in DATA_OPTIONS and _taken(registry, datasets, key)):
            continue  # --set target=COL: used by the data sets that take one
        if key in DATA_OPTIONS:
            raise refused_option(key, value, datasets)
        unused.append(item)
    first = next((c for c in grid.combinations if c.kind == ZOO), None)
    if unused and first:
        # Planning with it raises the usual message, which lists every valid key.
        plan(RunConfig(**{**first.config, "seed": 0}), registry, unused[:1])


def _baselines(firsts: list[Combination]) -> list[Combination]:
    """scikit-learn reference rows, one per repeat, on the data set's own split."""
    return [
        Combination(BASELINE, name, c.data, "-", c.repeat, c.config)
        for name in BASELINES
        for c in firsts
    ]


def _plain_config(config: RunConfig) -> dict[str, Any]:
    values = config.to_dict()
    for key in ("model_params", "data_params", "preset_params"):
        values[key] = {k: list(v) if isinstance(v, tuple) else v for k, v in values[key].items()}
    return values
