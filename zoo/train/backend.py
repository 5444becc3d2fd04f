"""Importing the Keras backend without its start-up noise on a terminal."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration.

    TensorFlow's native libraries write start-up notices (oneDNN, CUDA probing) straight to
    the process's stderr before its own log-level setting applies; Python code cannot catch
    them any other way.
    """
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(null)
        os.close(saved)


def import_backend_quietly() -> None:
    """Import Keras and its backend, probing devices once, with native notices silenced."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with native_stderr_silenced():
        # TensorFlow is imported here whatever the backend: tf.data streams large files, and
        # keras.utils.set_random_seed seeds TensorFlow whenever it is installed.
        import keras  # noqa: F401 - the import is the point
        import tensorflow as tf

        tf.config.list_physical_devices()
