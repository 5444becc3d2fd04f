"""Expanding a bench spec into combinations: names resolved, sets applied, every one planned.

Every model on a data set gets the same split, the same epochs and, repeat by repeat, the same
seed (base seed + repeat index), so the rows of a leaderboard are comparable. A combination
that cannot train together is skipped with the reason; nothing is imported from TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from zoo import Registry, RunConfig, plan
from zoo.core.errors import IncompatibleError, UnknownNameError, ZooError

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
    grid, used = Grid(), set()
    for data in datasets:
        firsts: list[Combination] = []
        for model in models:
            for preset in presets or [None]:
                names = {"model": model, "data": data, "preset": preset}
                try:
                    planned = _plan_combination(spec, registry, names, used)
                except ZooError as exc:
                    if not isinstance(exc, IncompatibleError) and not wild & set(names.values()):
                        raise
                    grid.skipped.append(Skipped(model, data, preset or "default", str(exc)))
                    continue
                grid.combinations.extend(planned)
                firsts = firsts or planned
        if spec.baselines and firsts:
            grid.combinations.extend(_baselines(firsts))
    _check_sets_used(spec, registry, used, grid)
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
                    f"No {kind[:-1]} matches {item!r}; installed {kind}: "
                    f"{', '.join(registry.names(kind))}."
                )
            wild.update(found)
            names.extend(found)
        else:
            if kind != "datasets":  # a data string may also be a CSV file; plan resolves it
                registry.get(item, kind)
            names.append(item)
    return list(dict.fromkeys(names)), wild


def _plan_combination(
    spec: BenchSpec, registry: Registry, names: dict[str, Any], used: set[str]
) -> list[Combination]:
    values = {**spec.base, **names}
    checked = plan(RunConfig(**values), registry)  # names and compatibility, before any --set
    sets = [item for item in spec.sets if _belongs(item, checked)]
    used.update(sets)
    base_seed = values.get("seed", 0)
    planned = []
    for repeat in range(spec.repeats):
        config = plan(RunConfig(**{**values, "seed": base_seed + repeat}), registry, sets).config
        planned.append(
            Combination(
                ZOO,
                names["model"],
                names["data"],
                names["preset"] or checked.preset.name,
                repeat,
                _plain_config(config),
            )
        )
    return planned


def _belongs(item: str, checked: Any) -> bool:
    """Whether a --set names a hyperparameter of this combination (or a run option)."""
    key = item.partition("=")[0].strip()
    entries = {"model": checked.model, "data": checked.data, "preset": checked.preset}
    section, dot, name = key.partition(".")
    if dot:
        entry = entries.get(section)
        return entry is None or any(p.name == name for p in entry.params)
    run_fields = {f.name for f in fields(RunConfig)}
    return key in run_fields or any(
        p.name == key for entry in entries.values() for p in entry.params
    )


def _check_sets_used(spec: BenchSpec, registry: Registry, used: set[str], grid: Grid) -> None:
    """A --set that no combination has a place for is an error (a typo, most likely)."""
    unused = [item for item in spec.sets if item not in used]
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
