"""Importing packages that are optional or heavy: an optional dependency (an extra, such as
Ray, MLflow or Optuna) or one line saying how to install it; Keras with TensorFlow's native
start-up notices kept off the terminal, from any layer.

TensorFlow's native libraries write start-up notices (oneDNN, CUDA probing, CPU features)
straight to the process's stderr while they load, before any log-level setting of theirs
applies; Python code cannot catch them any other way than at the file descriptor.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType

from zoo.core.errors import IncompatibleError


def import_extra(module: str, needed_by: str, extra: str) -> ModuleType:
    """Import ``module``, which ``keras-zoo[extra]`` installs.

    Args:
        module: the module to import, e.g. ``"ray"``.
        needed_by: what needs it, as the message's subject, e.g. ``"--cluster"``.
        extra: the extra that installs it, e.g. ``"ray"``.

    Raises:
        IncompatibleError: it is not installed; the line names the pip command.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise IncompatibleError(
            f"{needed_by} needs the {module} package, which is not installed; run: "
            f"pip install 'keras-zoo[{extra}]'."
        ) from None


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration."""
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(null)
        os.close(saved)


def import_keras_quietly() -> None:
    """Import Keras (and so its backend) once, its native notices silenced.

    For the API's entry points that reach Keras through a plugin (``Registry.create`` of a
    model); training goes through ``zoo.train.backend.import_backend_quietly``, which does
    more. Devices are probed inside the silence too: TensorFlow's CUDA probe reports its
    failure as an error, which a log level inherited from another process may let through.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "keras" in sys.modules:
        return
    with native_stderr_silenced():
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices()
