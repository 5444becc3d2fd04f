"""Seeding Python, NumPy and the Keras backend, without importing TensorFlow needlessly.

``keras.utils.set_random_seed`` also seeds TensorFlow whenever it is installed, which imports
it: seconds of start-up under JAX or PyTorch for a run that never touches it. Under those
backends, and while nothing has imported TensorFlow, the same seeding is done here without it.
"""

from __future__ import annotations

import random
import sys

import keras
import numpy as np


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the backend, and ask TensorFlow for deterministic kernels."""
    backend = keras.backend.backend()
    if backend == "tensorflow" or "tensorflow" in sys.modules or not _seed_keras_only(seed):
        # TensorFlow already runs (a streamed file's tf.data pipeline): seed it too.
        keras.utils.set_random_seed(seed)
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def _seed_keras_only(seed: int) -> bool:
    """What ``set_random_seed`` does, minus TensorFlow; False if Keras's internals moved.

    Keras keeps the seed in its global state, where initializers and ``keras.random`` find
    it, and drops its global seed generator so that the next one starts from this seed.
    """
    try:
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator
        from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED
    except ImportError:  # a Keras without these internals: take the public way
        return False
    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)
    if keras.backend.backend() == "torch":
        import torch

        torch.manual_seed(seed)
    return True
