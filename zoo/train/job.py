"""One training job's life: its run folder, signals, stops, interruption and resumption."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.core.config import FitOptions
from zoo.core.errors import (
    PluginError,
    RunFolderError,
    RunInterrupted,
    TrainingDiverged,
    ZooError,
)
from zoo.core.parts import TRAIN, VALIDATION
from zoo.core.tasks import TASK_TABLE, class_balance, imbalanced
from zoo.runs.files import disk_failure
from zoo.runs.folder import NoFolder, RunFolder, folder_name

if TYPE_CHECKING:
    import keras

    from zoo.core.parts import DataInfo, DataParts
    from zoo.core.spec import CompileSettings, FineTune
    from zoo.plan.planning import Plan
    from zoo.train.callbacks import RunGuard


class Job:
    """Trains one model, keeping its run folder (if any) truthful about what happened."""

    def __init__(
        self,
        checked: Plan,
        parts: DataParts,
        *,
        resume_from: RunFolder | None = None,
        allow_unverified: bool = False,
    ) -> None:
        self.checked = checked
        self.allow_unverified = allow_unverified
        self.parts = parts
        config = checked.config
        self.options = FitOptions(config.epochs, config.batch_size, config.seed)
        self.folder: RunFolder | NoFolder = resume_from or NoFolder()
        self.previous_history: dict[str, list[float]] = {}
        self.initial_epoch = 0
        self.resumed = resume_from is not None
        self._class_weights: dict[int, float] | None = None
        self._weights_known = False
        if resume_from is not None:
            fingerprint = self.parts.fingerprint()
            self.previous_history, self.initial_epoch = resume_from.resumable(
                fingerprint, config.epochs
            )
            problem = resume_from.best_weights_problem()
            if problem:  # not needed to resume, but its loss must not pass unsaid
                print(
                    f"zoo: warning: {problem}; the best epoch's weights before the "
                    "interruption are lost. Resuming from model.keras (the last epoch).",
                    file=sys.stderr,
                )

    @property
    def folder_path(self) -> Path | None:
        return self.folder.path

    # -- starting --------------------------------------------------------------------------

    def open_folder(self, plugin_versions: dict[str, dict[str, str]]) -> None:
        from zoo.runs.records import environment_record

        config = self.checked.config
        name = folder_name(self.checked.model_label, self.checked.data_label)
        self.folder = RunFolder.create(config.runs_dir, name)
        record = environment_record(plugin_versions, self.parts.fingerprint(), config.seed)
        self.folder.write_start(self.checked.to_dict(), data_record(self.parts.info), record)

    def previous_model(self) -> keras.Model:
        """The interrupted run's model, verified, taking the inputs the data set has."""
        from zoo.runs.files import load_keras_model

        if not isinstance(self.folder, RunFolder):
            raise RunFolderError("Only a resumed run has a previous model.")
        path = self.folder.model_path
        model = load_keras_model(path, allow_unverified=self.allow_unverified)
        expected = tuple(self.parts.info.input_shape)
        found = [tuple(i.shape)[1:] for i in model.inputs]
        if found != [expected]:
            raise RunFolderError(
                f"{path} takes inputs of shape {found}, but the data set gives {expected}: the "
                "model does not belong to this run. Restore the run's own model.keras."
            )
        return model

    # -- training --------------------------------------------------------------------------

    def fit(
        self, model: keras.Model, settings: CompileSettings, progress: Any
    ) -> dict[str, list[float]]:
        """Train with stop handling; raise RunInterrupted / TrainingDiverged when they happen."""
        from zoo.train import fitting as training

        config = self.checked.config
        if self.resumed:
            # The run continues with these settings (--epochs may have changed): say so.
            self.folder.write_config(self.checked.to_dict())
        options = replace(
            self.options, initial_epoch=self.initial_epoch, class_weight=self.class_weights()
        )
        return self._guarded(
            lambda callbacks: training.fit(model, settings, self.parts, options, callbacks),
            model,
            progress,
            config.epochs,
            self.previous_history,
        )

    def fine_tune(
        self,
        model: keras.Model,
        tune: FineTune,
        settings: CompileSettings,
        progress: Any,
        history: dict[str, list[float]],
    ) -> dict[str, list[float]]:
        """The builder's fine-tuning phase, with the same stop handling as the first phase."""
        from zoo.train.fitting import fine_tune

        return self._guarded(
            lambda callbacks: fine_tune(model, tune, settings, self.parts, self.options, callbacks),
            model,
            progress,
            tune.epochs,
            history,
        )

    def _guarded(
        self,
        phase: Callable[[list[keras.callbacks.Callback]], dict[str, list[float]]],
        model: keras.Model,
        progress: Any,
        epochs: int,
        before: dict[str, list[float]],
    ) -> dict[str, list[float]]:
        """Run one training phase under the run guard, signals and the folder's status."""
        from zoo.train.callbacks import RunGuard

        guard = RunGuard("val_loss" if self._has_validation else "loss")
        callbacks = [*self._optional_callbacks(), *([progress(epochs)] if progress else [])]
        callbacks.append(guard)  # last, so it sees a stop requested during the epoch
        self.folder.set_status("running", **self._training_record())
        try:
            with stop_requests(guard.request_stop):
                new = phase(callbacks)
        except BaseException as exc:
            # A callback's file (TensorBoard's event files) hit a full disk or a size limit:
            # the framework words it as its own error; say what it is.
            failure = disk_failure(exc, self.folder.path or Path("."))
            self.mark_ended(failure or exc)
            if failure is not None:
                raise failure from None
            raise
        history = _joined(before, new)
        if guard.interrupted:
            self._keep_interrupted(model, history, guard)
        if guard.nan_epoch is not None:
            self._diverged(history, guard.nan_epoch)
        return history

    def _optional_callbacks(self) -> list[Any]:
        from zoo.train.callbacks import optional_callbacks

        config = self.checked.config
        tensorboard = self.folder.log_dir("tensorboard") if config.tensorboard else None
        return optional_callbacks(
            config.patience,
            tensorboard,
            reduce_lr=config.reduce_lr,
            has_validation=self._has_validation,
        )

    @property
    def _has_validation(self) -> bool:
        return self.parts.rows(VALIDATION) > 0

    def class_weights(self) -> dict[int, float] | None:
        """The run's class weights (see :func:`class_weights`), worked out once; one line on
        stderr when ``auto`` switched them on (once for a cross-validated run's folds)."""
        if not self._weights_known:
            config = self.checked.config
            self._class_weights, why = class_weights(config.class_weight, self.parts)
            self._weights_known = True
            if why and self._class_weights and config.fold in (None, 0):
                names = self._class_names()
                shown = ", ".join(
                    f"{names[c]} {w:.3g}" for c, w in list(self._class_weights.items())[:6]
                )
                more = ", ..." if len(self._class_weights) > 6 else ""
                print(
                    f"zoo: class weights balanced (class_weight=auto): {why}; weights "
                    f"{shown}{more}. --set class_weight=none trains without them.",
                    file=sys.stderr,
                )
        return self._class_weights

    def _class_names(self) -> dict[int, str]:
        names = self.parts.info.class_names
        return {c: str(names[c]) if c < len(names) else str(c) for c in self._class_weights or {}}

    def _training_record(self) -> dict[str, Any]:
        """What status.json says of early stopping and class weights (null when off)."""
        config = self.checked.config
        stopping = None
        if config.patience and self._has_validation:
            stopping = {"monitor": "val_loss", "patience": config.patience}
        weights = self.class_weights()
        names = self._class_names()
        return {
            "early_stopping": stopping,
            "class_weights": {names[c]: w for c, w in weights.items()} if weights else None,
        }

    def mark_ended(self, exc: BaseException) -> None:
        """Record how a run that is still ``running`` ended: ``interrupted`` for a second
        Ctrl-C (which stops at once, without saving), else ``failed`` with the reason.

        Best effort: on a full disk even the status may not be writable, and the error that
        ended the run matters more than this one.
        """
        if self.folder.status().get("status") != "running":
            return  # already says what happened (interrupted, failed) or is not ours
        with contextlib.suppress(ZooError, OSError):
            if isinstance(exc, KeyboardInterrupt):
                self.folder.set_status(
                    "interrupted",
                    interrupted_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
                    note="stopped at once by a second Ctrl-C; this session's epochs were not saved",
                )
            else:
                from zoo.core.errors import plain

                reason = plain(f"{type(exc).__name__}: {exc}").strip()  # no escape codes
                self.folder.set_status("failed", error=" ".join(reason.split()))

    def _keep_interrupted(
        self, model: keras.Model, history: dict[str, list[float]], guard: RunGuard
    ) -> None:
        done = len(history.get("loss", []))
        self.folder.write_history(history)
        self.folder.save_model(model)
        if guard.best_weights is not None:
            self.folder.save_weights(model, guard.best_weights)
        self.folder.set_status(
            "interrupted",
            epochs_done=done,
            best_epoch=guard.best_epoch,
            interrupted_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
        )
        where = self.folder.resume_hint()
        raise RunInterrupted(
            f"Training interrupted after epoch {done} of {self.checked.config.epochs}.{where}"
        )

    def _diverged(self, history: dict[str, list[float]], epoch: int) -> None:
        self.folder.write_history(history)
        self.folder.set_status("failed", error=f"loss became NaN at epoch {epoch}")
        raise TrainingDiverged(
            f"Training stopped at epoch {epoch}: the loss became NaN or infinite. Try a lower "
            "learning rate (--set learning_rate=0.0001), a smaller batch, or another preset; "
            "check the data for extreme values."
        )


def check_reloadable(model: keras.Model, name: str) -> None:
    """Refuse a model that would be saved but not load back in Keras's safe mode (a Lambda
    layer, a custom layer not registered as serializable): ``zoo evaluate`` and ``predict``
    would refuse the run. Its configuration goes through Keras's own serialization, as
    saving and loading do, without writing anything.

    Raises:
        PluginError: one line naming the layer and how to fix it.
    """
    import keras

    import zoo.core.layers  # noqa: F401 - registers the preparation layers a model holds

    try:
        config = keras.saving.serialize_keras_object(model)
        keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - any failure means the saved model would not load
        layer = _unreloadable_layer(keras, model)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        where = f"layer {layer.name!r} ({type(layer).__name__})" if layer else "a layer"
        raise PluginError(
            f"Model {name!r} holds {where}, which a saved model cannot reload in Keras's safe "
            f"mode ({first}), so the run could not be evaluated or used to predict; nothing "
            "was trained. Use Keras layers, or register the layer with "
            "@keras.saving.register_keras_serializable() and a get_config; no Lambda layers."
        ) from None


def _unreloadable_layer(keras: Any, model: Any) -> Any:
    """The first layer (nested models searched) that safe mode would refuse, if one is known."""
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.layers.Lambda):
            return layer
        kind = type(layer)
        builtin = kind.__module__.startswith("keras.")
        if (
            not builtin
            and keras.saving.get_registered_object(keras.saving.get_registered_name(kind)) is None
        ):
            return layer
        inner = _unreloadable_layer(keras, layer)
        if inner is not None:
            return inner
    return None


def _joined(
    before: dict[str, list[float]], after: dict[str, list[float]]
) -> dict[str, list[float]]:
    keys = list(dict.fromkeys([*before, *after]))
    return {k: [*before.get(k, []), *after.get(k, [])] for k in keys}


def data_record(info: DataInfo) -> dict[str, Any]:
    """What prediction needs to turn raw inputs into model inputs and outputs into labels."""
    return {
        "task": info.task,
        "input_kind": info.input_kind,
        "input_shape": list(info.input_shape),
        "feature_names": list(info.feature_names),
        "target_name": info.target_name,
        "class_names": [str(c) for c in info.class_names],
        "schema": info.schema or None,
    }


def class_weights(mode: str, parts: DataParts) -> tuple[dict[int, float] | None, str | None]:
    """The class weights to train with (class index -> weight), and, when ``mode`` "auto"
    switched them on, why. None for a regression, for "none", and for "auto" on classes that
    are not imbalanced (``zoo.core.tasks.imbalanced``: binary, a minority under 10 %).

    Balanced weights are the training part's rows / (classes * the class's rows), scikit-
    learn's "balanced": every class then weighs as much in the loss. Only the training part
    is counted (a streamed one in one pass over its batches).
    """
    info = parts.info
    if mode == "none" or not TASK_TABLE[info.task].classification:
        return None, None
    counts = train_class_counts(parts, info.n_classes)
    total = int(counts.sum())
    if not total:
        return None, None
    share = float(counts.min()) / total
    if mode == "auto" and not imbalanced(class_balance(counts.tolist())):
        return None, None
    present = [c for c in range(len(counts)) if counts[c]]
    weights = {c: total / (len(present) * int(counts[c])) for c in present}
    if mode != "auto":
        return weights, None
    rarest = int(counts.argmin())
    name = info.class_names[rarest] if rarest < len(info.class_names) else rarest
    return weights, f"class {str(name)!r} is {share:.1%} of the training part"


def train_class_counts(parts: DataParts, n_classes: int) -> Any:
    """Rows of each class in the training part (a NumPy array, one count per class)."""
    import numpy as np

    def labels(y: Any) -> Any:
        y = np.asarray(y).reshape(len(y), -1)
        return y.argmax(axis=1) if y.shape[1] > 1 else np.rint(y[:, 0]).astype("int64")

    counts = np.zeros(n_classes, "int64")
    arrays = parts.arrays(TRAIN)
    batches = [arrays] if arrays is not None else parts.batches(TRAIN, 1 << 16).as_numpy_iterator()
    for _, y in batches:
        counts += np.bincount(labels(y), minlength=n_classes)[:n_classes]
    return counts


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def ignore_file_size_signal() -> None:
    """Make a write past the file-size limit (ulimit -f) fail with EFBIG, not kill the process.

    SIGXFSZ kills by default; ignored, the write returns an error that becomes a one-line
    message and a ``failed`` run. Python ignores it at start-up already; an embedding
    application may not have.
    """
    sigxfsz = getattr(signal, "SIGXFSZ", None)
    if sigxfsz is not None and threading.current_thread() is threading.main_thread():
        signal.signal(sigxfsz, signal.SIG_IGN)


@contextlib.contextmanager
def stop_requests(on_stop: Callable[[int], None]) -> Iterator[None]:
    """Call ``on_stop(signum)`` on SIGINT/SIGTERM for the duration; restore handlers after.

    A second Ctrl-C while stopping raises KeyboardInterrupt, for a user who cannot wait.
    Outside the main thread (where handlers cannot be installed) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handle(signum: int, _frame: object) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)
        on_stop(signum)

    previous = {sig: signal.signal(sig, handle) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
