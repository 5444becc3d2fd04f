"""What a plugin hands back, checked against what it registered, before anything trains.

A loader's data set, a builder's model and a preset's compile settings are checked here
the moment they exist, so a plugin's mistake is one line that names the plugin and the entry
and says what was expected and what was received, instead of a Keras error mid-training (or
a run that trains on NaN and says ``complete``). The runner calls these checks; so does the
conformance kit (``zoo.testing``), which plugin authors run in their own tests.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.catalog.entries import INFERRED, Entry, factory_role
from zoo.core.errors import PluginError, ZooError, plain, shown
from zoo.core.parts import DataSource
from zoo.core.spec import FineTune, ModelSpec, unpack_built
from zoo.core.tasks import TASK_TABLE

if TYPE_CHECKING:
    import keras

    from zoo.core.spec import CompileSettings

# Keras trains in float32: larger finite values become infinite there.
FLOAT32_MAX = float(np.finfo("float32").max)
PROBE_ROWS = 2


def mismatch(entry: Entry, what: str, expected: Any, received: Any) -> PluginError:
    """The one-line error for a result that breaks its registration."""
    return PluginError(f"{entry.owner}: {what}: expected {expected}, received {received}.")


def call_plugin(entry: Entry, *args: Any, **params: Any) -> Any:
    """Call an entry's factory; a crash inside it becomes a PluginError naming the plugin.

    A ZooError keeps its class (the plugin may be reporting the user's mistake, such as a
    missing file) and gains the entry and plugin in front, unless it names the plugin already.
    """
    try:
        return entry.factory(*args, **params)
    except ZooError as exc:
        if repr(entry.plugin) in str(exc):
            raise
        try:
            named = type(exc)(f"{entry.owner}: {exc}")
        except Exception:  # an error class that takes other arguments: keep it as it is
            raise exc from None
        raise named from exc
    except Exception as exc:
        text = plain(str(exc)).strip().splitlines()  # no terminal escape codes
        raise PluginError(
            f"{entry.owner}: its {factory_role(entry.kind)} raised {type(exc).__name__}: "
            f"{text[0] if text else ''} (rerun with --debug for the traceback)"
        ) from exc


# -- data sets ---------------------------------------------------------------------------


def check_data(entry: Entry, source: Any, params: Mapping[str, Any]) -> DataSource:
    """Check a loader's result against the entry's metadata (as inspected for ``params``).

    Shape, rows and classes are compared when the metadata describes these parameters:
    always for an entry with an ``inspect`` callable, else only for the default parameters.

    Raises:
        PluginError: the first way the result breaks the registration.
    """
    if not isinstance(source, DataSource):
        raise mismatch(entry, "the loader's result", "a zoo.plugin.Dataset", type(source).__name__)
    meta, info = entry.metadata, source.info
    defaults = {p.name: p.default for p in entry.params}
    # A config.json spells every default out: parameters equal to them change nothing.
    describes = meta.get("inspect") is not None or all(
        name in defaults and value == defaults[name] for name, value in params.items()
    )
    _same(entry, "task", meta["task"], info.task)
    _same(entry, "input kind", meta["input_kind"], info.input_kind)
    if describes and meta["shape"] != INFERRED:
        _same(entry, "shape of one example", tuple(meta["shape"]), tuple(info.input_shape))
    x, y = getattr(source, "x", None), getattr(source, "y", None)
    if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
        if describes and meta.get("rows"):
            _same(entry, "rows", meta["rows"], len(x))
        check_features(entry, x, missing_ok=info.input_kind == "tabular")
        check_targets(entry, y, _classes(entry, info, describes=describes))
    return source


def _same(entry: Entry, what: str, declared: Any, returned: Any) -> None:
    if declared != returned:
        raise PluginError(
            f"{entry.owner}: the loader returned {what} {shown(returned)}, but the registration "
            f"declares {shown(declared)}; make them agree."
        )


def _classes(entry: Entry, info: Any, *, describes: bool) -> int:
    declared = entry.metadata.get("classes") if describes else None
    if declared and TASK_TABLE[info.task].classification:
        _same(entry, "classes", declared, info.n_classes)
    return info.n_classes


def check_features(entry: Entry, x: np.ndarray, *, missing_ok: bool = False) -> None:
    """Numeric, finite features that stay finite in float32; NaN too when ``missing_ok``
    (a missing tabular value, which the model's preparation layer fills)."""
    if x.dtype.kind not in "biuf":
        sample = _first_non_number(x)
        raise mismatch(entry, "features", "numbers", f"dtype {x.dtype} holding {shown(sample)}")
    if x.dtype.kind != "f" or not x.size:
        return
    bad = np.isinf(x) if missing_ok else ~np.isfinite(x)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise mismatch(
            entry,
            "features",
            "finite numbers" + (" or NaN (missing)" if missing_ok else ""),
            f"NaN or infinite values in {len(rows)} row(s), first row {int(rows[0])}",
        )
    peak = float(np.nanmax(np.abs(x))) if missing_ok else float(np.max(np.abs(x)))
    if peak > FLOAT32_MAX:
        raise mismatch(
            entry,
            "features",
            f"values Keras's float32 can hold (|x| <= {FLOAT32_MAX:.3g})",
            f"a value of magnitude {peak:.3g}, infinite in float32",
        )


def _first_non_number(x: np.ndarray) -> Any:
    """The first value that is no number, as a plain Python value for the message."""
    found = x.flat[0] if x.size else None
    for value in x.flat:
        try:
            float(value)
        except (TypeError, ValueError):
            found = value
            break
    return found.item() if isinstance(found, np.generic) else found


def check_targets(entry: Entry, y: np.ndarray, classes: int) -> None:
    """Regression targets numeric and finite; class targets whole numbers in [0, classes)."""
    if y.dtype.kind not in "biuf":
        sample = _first_non_number(y)
        expected = "class indices (labels go in class_names)" if classes else "numbers"
        raise mismatch(entry, "targets", expected, f"dtype {y.dtype} holding {shown(sample)}")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise mismatch(entry, "targets", "finite numbers", "NaN or infinite targets")
    if not classes or not y.size:
        return
    whole = np.all(np.mod(y, 1) == 0)
    low, high = float(np.min(y)), float(np.max(y))
    if not whole or low < 0 or high >= classes:
        received = "values that are not whole numbers" if not whole else f"[{low:g}, {high:g}]"
        raise mismatch(entry, "class indices", f"whole numbers in [0, {classes})", received)


# -- models ------------------------------------------------------------------------------


def check_model(entry: Entry, spec: ModelSpec, built: Any) -> tuple[keras.Model, FineTune | None]:
    """Check a builder's result by calling it on a tiny batch of zeros, before compile.

    Returns:
        The model and the fine-tuning request the builder made, if any.

    Raises:
        PluginError: not a keras.Model, inputs of ``spec.input_shape`` refused, or outputs
            that are not ``(batch, spec.output_units)``.
    """
    import keras

    model, fine_tune = unpack_built(built)
    if not isinstance(model, keras.Model):
        raise mismatch(
            entry,
            "the builder's result",
            "a keras.Model (or zoo.plugin.BuiltModel)",
            type(model).__name__,
        )
    probe = np.zeros((PROBE_ROWS, *spec.input_shape), dtype="float32")
    try:
        outputs = model(probe, training=False)
    except Exception as exc:
        text = str(exc).strip().splitlines()
        raise mismatch(
            entry,
            "the model's input",
            f"one that accepts a batch of shape {probe.shape} (spec.input_shape="
            f"{spec.input_shape})",
            f"{type(exc).__name__}: {text[0] if text else ''}",
        ) from exc
    shape = tuple(getattr(outputs, "shape", ()))
    expected = (PROBE_ROWS, spec.output_units)
    if shape != expected:
        raise mismatch(
            entry,
            "the model's output",
            f"shape {expected} (spec.output_units={spec.output_units})",
            f"{shape if shape else type(outputs).__name__}",
        )
    return model, fine_tune


# -- presets -----------------------------------------------------------------------------


def check_settings(entry: Entry, settings: CompileSettings) -> None:
    """Resolve the optimizer, loss and every metric with Keras, as compile will.

    Planning already refused names Keras does not know; this catches what only Keras can
    judge (a config dict with a bad argument, a custom object) before any folder is written.
    """
    import keras

    parts: list[tuple[str, Any, Callable[[Any], Any]]] = [
        ("optimizer", settings.optimizer, keras.optimizers.get),
        ("loss", settings.loss, keras.losses.get),
    ]
    parts += [("metric", m, keras.metrics.get) for m in settings.metrics or () if m not in _SHORT]
    for what, value, resolve in parts:
        try:
            resolve(copy.deepcopy(value))  # Keras rewrites config dicts in place
        except Exception as exc:
            text = str(exc).strip().splitlines()
            raise mismatch(
                entry,
                what,
                f"{'an' if what[0] in 'aeiou' else 'a'} {what} Keras can build",
                f"{shown(value)} ({type(exc).__name__}: {text[0] if text else ''})",
            ) from exc


# model.compile turns these into the metric that fits the loss; keras.metrics.get does not.
_SHORT = ("acc", "crossentropy", "ce")
