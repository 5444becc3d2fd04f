"""Many runs in one process stay flat: zoo.train.backend gives back what a run leaves behind
(its garbage, the custom gradients TensorFlow registers while tracing), and leaves nothing
frozen out of the garbage collector."""

from __future__ import annotations

import gc
import weakref

import pytest

from zoo.train import backend


class _Node:
    pass


def test_a_run_s_garbage_is_collected_and_nothing_stays_frozen():
    frozen_before = gc.get_freeze_count()
    with backend.released_after_run():
        assert gc.get_freeze_count() > frozen_before  # what lived before is left alone
        node = _Node()
        node.itself = node  # a cycle: only the collector frees it
        gone = weakref.ref(node)
        del node
    assert gone() is None
    assert gc.get_freeze_count() == frozen_before


def test_the_collector_is_unfrozen_when_the_run_fails():
    frozen_before = gc.get_freeze_count()
    with pytest.raises(RuntimeError), backend.released_after_run():
        raise RuntimeError("a failing run")
    assert gc.get_freeze_count() == frozen_before


def _trace_a_custom_gradient() -> None:
    """What tracing some Keras ops does: register a uniquely named gradient, for good."""
    import tensorflow as tf

    @tf.custom_gradient
    def identity(x):
        return tf.identity(x), lambda dy: dy

    tf.function(identity)(tf.constant(1.0))


def test_a_released_run_leaves_no_custom_gradient_behind():
    from zoo.train.backend import import_backend_quietly

    import_backend_quietly()
    before = backend.custom_gradient_names()
    assert before is not None  # TensorFlow's registry is there to look at
    _trace_a_custom_gradient()
    left = backend.custom_gradient_names()
    assert left is not None and left - before, "tracing registers a custom gradient"
    backend.release(before)  # what the bench and tune do after each run
    assert backend.custom_gradient_names() == before
    with backend.released_after_run():
        _trace_a_custom_gradient()
    assert backend.custom_gradient_names() == before
