"""The Keras backend in a process: imported without its start-up noise on a terminal, and the
memory it holds given back after each run, so that many runs in one process (bench, tune)
stay flat.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zoo.core import imports
from zoo.core.config import FALSE_WORDS

# Re-exported: callers here have always imported it from this module.
native_stderr_silenced = imports.native_stderr_silenced


def import_backend_quietly() -> None:
    """Import Keras and its backend, probing devices once, with native notices silenced.

    TensorFlow is imported only when it is the backend: under JAX or PyTorch, in-memory data
    never needs it (a streamed file's plugin imports it for tf.data when it must), and its
    import alone costs more than the whole training of a small model.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    kept_out = [*OPTIONAL_FOR_KERAS, *(["jax"] if configured_backend() == "tensorflow" else [])]
    if "keras" in sys.modules:  # already imported (an earlier run in this process): no need
        kept_out = []
    with native_stderr_silenced(), optional_imports_kept_out(kept_out):
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices()
        elif "tensorflow" not in sys.modules:
            _tensorflow_counted_once_imported()
        if keras.backend.backend() == "jax":
            use_jax_compilation_cache()


def jax_cache_dir() -> Path | None:
    """Where compiled JAX programs are kept between runs; None when switched off.

    ``ZOO_JAX_CACHE`` names the folder, or ``off`` to switch the cache off; by default it is
    ``keras-zoo/jax`` under ``$XDG_CACHE_HOME`` (``~/.cache``).
    """
    chosen = os.environ.get("ZOO_JAX_CACHE", "")
    if chosen.strip().lower() in FALSE_WORDS:
        return None
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "keras-zoo" / "jax"


def use_jax_compilation_cache() -> None:
    """Keep JAX's compiled programs on disk, so that a later run loads instead of compiling.

    On a small model XLA's compilation is most of the training time (a whole run compiles
    some thirty programs, from the weight initializers to the training epoch); read back
    from disk they take milliseconds. A cache the user configured for JAX is left alone.
    """
    import jax

    folder = jax_cache_dir()
    if folder is None or jax.config.jax_compilation_cache_dir:
        return
    jax.config.update("jax_compilation_cache_dir", str(folder))
    # JAX keeps only programs that took a second to compile; here every one counts.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def configured_backend() -> str:
    """The backend Keras will load, read as Keras reads it, without importing Keras."""
    chosen = os.environ.get("KERAS_BACKEND")
    if chosen:
        return chosen
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json"), encoding="utf-8") as handle:
            return str(json.load(handle).get("backend", "tensorflow"))
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


# Imported by Keras when installed, for features a run never uses (pandas data frames in
# fit, the scikit-learn wrappers, image galleries): together a second or more of start-up.
OPTIONAL_FOR_KERAS = ("pandas", "sklearn", "matplotlib")


@contextlib.contextmanager
def optional_imports_kept_out(names: list[str]) -> Iterator[None]:
    """While Keras and its backend are imported, make ``import NAME`` fail at once.

    Keras takes the ImportError as "not installed" and leaves those features off for this
    process (keras-zoo imports what it needs of them itself, later and only when needed).
    TensorFlow's TFLite converter likewise imports JAX whenever it is installed, to convert
    JAX functions, which a run never does. Every module stays importable afterwards.
    """
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment] - None makes the import fail
    try:
        yield
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


class _ImportedOnly:
    """Keras's lazy TensorFlow handle, available only once something has imported it.

    Under other backends Keras still asks whether TensorFlow is *installed* (saving a model
    checks every config value against ``tf.TensorShape``), and asking imports it. No value
    can be a TensorFlow object before TensorFlow is imported, so the answer "not available"
    is exact until then.
    """

    @property
    def available(self) -> bool:
        return "tensorflow" in sys.modules and super().available  # type: ignore[misc]


def _tensorflow_counted_once_imported() -> None:
    try:
        from keras.src.utils import module_utils
    except ImportError:  # a Keras laid out otherwise: nothing to adjust
        return
    handle = module_utils.tensorflow
    base = type(handle)
    if not issubclass(base, _ImportedOnly):
        handle.__class__ = type("ImportedOnlyLazyModule", (_ImportedOnly, base), {})


CUSTOM_GRADIENT = "CustomGradient-"  # tf.custom_gradient's registry names


@contextlib.contextmanager
def released_after_run() -> Iterator[None]:
    """Around one run: afterwards drop its model's graph, tensors and registered gradients.

    What lives before the run (TensorFlow's and Keras's own objects, some 300,000) is frozen
    out of the garbage collector meanwhile, so the collections that free the run's objects
    look at the run's objects only: 0.02 s a run instead of 0.26 s. Everything is unfrozen
    afterwards.
    """
    before = custom_gradient_names()
    gc.freeze()
    try:
        yield
    finally:
        try:
            release(before)
        finally:
            gc.unfreeze()


def release(custom_gradients: set[str] | None = None) -> None:
    """Clear the Keras session and forget the gradients registered since ``custom_gradients``."""
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.backend.clear_session()
    if custom_gradients is not None:
        _forget_custom_gradients(custom_gradients)
    gc.collect()


def custom_gradient_names() -> set[str] | None:
    registry = _gradient_registry()
    return None if registry is None else {k for k in registry if k.startswith(CUSTOM_GRADIENT)}


def _forget_custom_gradients(before: set[str]) -> None:
    """Unregister the gradients ``tf.custom_gradient`` registered during the finished run.

    In a traced function each call of a custom-gradient op registers a uniquely named gradient
    in TensorFlow's global registry, which is never emptied; its closure keeps the whole traced
    graph alive (some megabytes per run). Once the run's model is gone nothing can ask for them.
    """
    registry = _gradient_registry()
    if registry is None:
        return
    for name in [k for k in registry if k.startswith(CUSTOM_GRADIENT) and k not in before]:
        registry.pop(name, None)


def _gradient_registry() -> dict[str, Any] | None:
    ops = sys.modules.get("tensorflow.python.framework.ops")
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else None
