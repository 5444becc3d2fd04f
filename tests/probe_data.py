"""In-process data sets for model tests: tiny probes for what no built-in data set covers,
and the digits images (from scikit-learn, offline) while no plugin registers them."""

from __future__ import annotations

import sys

import numpy as np

import zoo
from zoo.catalog.entries import INPUT_KINDS, TASKS, Entry

PROBE_PLUGIN = "zoo-test-probes"
DIGITS_PLUGIN = "zoo-test-digits"
PROBE_ROWS = 60
PROBE_SHAPES = {"tabular": (5,), "image": (8, 8, 1)}


def probe_name(task: str, kind: str) -> str:
    return f"probe-{kind}-{task}"


def _probe(task: str, kind: str) -> zoo.Dataset:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 16, size=(PROBE_ROWS, *PROBE_SHAPES[kind])).astype("float32")
    if task == "regression":
        y = x.reshape(PROBE_ROWS, -1).sum(axis=1)
    else:
        # Every class well represented, so the stratified splits work on few rows.
        y = np.arange(PROBE_ROWS) % (2 if task == "binary" else 3)
    return zoo.Dataset(x=x, y=y, task=task, input_kind=kind)


class ProbePlugin:
    """Registers one tiny data set for each (task, input kind) pair asked for."""

    def __init__(self, combos: set[tuple[str, str]]) -> None:
        self.combos = sorted(combos)

    @zoo.hookimpl
    def register_datasets(self, register):
        for task, kind in self.combos:
            register(
                probe_name(task, kind),
                lambda task=task, kind=kind: _probe(task, kind),
                description=f"tiny random {kind} {task} probe",
                task=task,
                input_kind=kind,
                shape=PROBE_SHAPES[kind],
                rows=PROBE_ROWS,
            )


def load_digits_dataset() -> zoo.Dataset:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = digits.images.astype("float32")[..., None]
    return zoo.Dataset(x=x, y=digits.target, task="multiclass", input_kind="image")


@zoo.hookimpl
def register_datasets(register):
    """This module is itself a plugin: scikit-learn's digits while no plugin provides them."""
    register(
        "digits",
        load_digits_dataset,
        description="8x8 grey digits from scikit-learn (test stand-in)",
        task="multiclass",
        input_kind="image",
        shape=(8, 8, 1),
        rows=1797,
        classes=10,
    )


def registry_with_digits() -> zoo.Registry:
    """The built-in plugins, plus a digits data set if none of them registers one."""
    registry = zoo.Registry.discover(entry_points=False)
    if "digits" in registry.names("datasets"):
        return registry
    return zoo.Registry.discover(entry_points=False, extra=[(DIGITS_PLUGIN, sys.modules[__name__])])


def declared_combos(entry: Entry) -> set[tuple[str, str]]:
    """The (task, input kind) pairs a model says it handles."""
    return {(t, k) for t in entry.metadata["tasks"] for k in entry.metadata["input_kinds"]}


def all_combos() -> set[tuple[str, str]]:
    return {(t, k) for t in TASKS for k in INPUT_KINDS}
