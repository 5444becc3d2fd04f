"""A run folder: what a run wrote, and its status, kept honest at every step (the table of
past runs that ``zoo runs`` shows is :mod:`zoo.runs.listing`).

``status.json`` is written first (``running``) and last (``complete``, ``failed`` or
``interrupted``), each time atomically, so a folder never looks complete before it is. A
process killed outright leaves ``running`` with a pid that no longer exists (or that another
process now has: the process start time is recorded with the pid), which :func:`read_status`
reports as ``crashed``. A status file that cannot be read makes the run ``broken``. Every write
goes through a partial file (see :mod:`zoo.runs.files`), and a failed write is one
:class:`~zoo.core.errors.WriteFailed` line.
"""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.core.errors import RunFolderError, ZooError, shown
from zoo.runs.files import (
    CHECKSUM_FILE,
    HISTORY_LIMIT,
    MODEL_FILE,
    atomic_file,
    check_model_file,
    damaged,
    file_sha256,
    load_json,
    oversized,
    read_json,  # noqa: F401 - re-exported: zoo.app.bench.spec reads its files with it
    read_text,
    recorded_digest,
    write_json,
    writing,
)
from zoo.runs.records import (
    alive,
    own_identity,
    read_data,
    read_environment,
    with_absolute_paths,
)

if TYPE_CHECKING:
    import keras

BEST_WEIGHTS_FILE = "best.weights.h5"
FILES = {
    "status": "status.json",
    "config": "config.json",
    "environment": "environment.json",
    "metrics": "metrics.json",
    "history": "history.csv",
    "data": "data.json",
    "curves": "curves.png",
    "evaluation": "evaluation.json",
    "plots": "plots",
}


def folder_name(model: str, data: str) -> str:
    """``YYYYmmdd-HHMMSS-MODEL-DATA`` (short names): sorting by name sorts by time."""
    safe = ["".join(c if c.isalnum() or c in "-_." else "_" for c in n) for n in (model, data)]
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{safe[0]}-{safe[1]}"


class RunFolder:
    """One run's folder on disk."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, runs_dir: str | Path, name: str) -> RunFolder:
        runs = Path(runs_dir)
        try:
            path = _new_folder(runs, name)
        except OSError as exc:
            raise RunFolderError(
                f"Cannot create a run folder under {runs}: {exc.strerror or exc}. "
                "Choose a writable --runs-dir, or pass --no-save."
            ) from None
        folder = cls(path)
        folder.set_status("running", started=time.strftime("%Y-%m-%dT%H:%M:%S"))
        return folder

    def file(self, key: str) -> Path:
        return self.path / FILES[key]

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    def log_dir(self, name: str) -> str | None:
        """A sub-folder for a tool's logs (TensorBoard's)."""
        return str(self.path / name)

    def resume_hint(self) -> str:
        """What an interrupted run's message says of where it was kept."""
        return f" Kept in {self.path}; continue with 'zoo run --resume {self.path}'."

    # -- status ----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return read_status(self.path)

    def resumable(
        self, fingerprint: str, epochs: int | None = None
    ) -> tuple[dict[str, list[float]], int]:
        """The history and the epochs done of an interrupted run that can continue on data
        with this ``fingerprint`` to ``epochs`` in all.

        Raises:
            RunFolderError: not interrupted, no model, other data, a damaged record, or
                ``epochs`` fewer than those already done.
        """
        done = self.check_resumable(epochs)
        recorded = read_environment(self.file("environment")).get("data_fingerprint")
        if recorded != fingerprint:
            raise RunFolderError(
                f"Cannot resume {self.path}: the data set differs from the one it was trained "
                "on (fingerprint changed). Resume with the same data, or start a new run."
            )
        history = self.read_history()
        recorded_epochs = len(next(iter(history.values()), []))
        if done and not self.file("history").exists():
            raise damaged(self.file("history"), "is missing")
        if recorded_epochs != done:
            raise damaged(
                self.file("history"),
                f"holds {recorded_epochs} epochs where status.json says {done} were done",
            )
        return history, done

    def check_resumable(
        self, epochs: int | None = None, folds: int = 1, seed_ensemble: int | None = 1
    ) -> int:
        """The epochs done by an interrupted run that can continue to ``epochs`` in all: what
        can be told before the data set loads (and TensorFlow with it).

        Raises:
            RunFolderError: an averaged run (``folds`` or ``seed_ensemble`` above 1), not
                interrupted, no model, a damaged status, or ``epochs`` fewer than those
                already done.
        """
        seed_ensemble = seed_ensemble or 1  # None: the model's own, a new run's setting
        if folds > 1 or seed_ensemble > 1:
            kind, flag = (
                ("a cross-validated run", f"--folds {folds}")
                if folds > 1
                else ("a seed ensemble", f"--seed-ensemble {seed_ensemble}")
            )
            raise RunFolderError(
                f"Cannot resume {self.path}: it is {kind} (folds={folds}, seed_ensemble="
                f"{seed_ensemble}), whose member models are not kept. Run it again with {flag} "
                "(its settings are in its config.json)."
            )
        status = self.status()
        if status.get("status") == "broken":
            raise RunFolderError(f"Cannot resume {self.path}: {status.get('problem')}")
        if status.get("status") != "interrupted" or not self.model_path.exists():
            raise RunFolderError(
                f"Cannot resume {self.path}: its status is {shown(status.get('status'))}"
                f"{'' if self.model_path.exists() else ' and it holds no model.keras'}; only "
                "an interrupted run with a saved model can be resumed. Start a new run instead."
            )
        done = status.get("epochs_done", 0)
        if isinstance(done, bool) or not isinstance(done, int) or done < 0:
            raise RunFolderError(
                f"Cannot resume {self.path}: {self.file('status')} holds epochs_done="
                f"{shown(done)}, not a count of epochs; the run folder is damaged."
            )
        if epochs is not None and epochs < done:
            raise RunFolderError(
                f"Cannot resume {self.path} to --epochs {epochs}: it has already trained "
                f"{done} epochs. Give --epochs {done} or more (the epochs in all, not the "
                "epochs to add)."
            )
        return done

    def check_saved(
        self, *, allow_unverified: bool = False, hash_limit: int | None = None
    ) -> dict[str, Any]:
        """data.json and the model checked as ``zoo evaluate``, ``predict`` and ``run
        --resume`` check them before Keras loads (see :func:`check_model_file`); returns
        data.json's record.

        Raises:
            RunFolderError: one of them is missing or damaged.
        """
        data = read_data(self.file("data"))
        check_model_file(self.model_path, allow_unverified=allow_unverified, hash_limit=hash_limit)
        return data

    def best_weights_problem(self) -> str | None:
        """Why best.weights.h5 (kept by an interruption) cannot be read, or None when it is
        absent or sound. Resuming continues from model.keras either way."""
        path = self.path / BEST_WEIGHTS_FILE
        if not path.exists() and not path.is_symlink():
            return None
        try:
            problem = oversized(os.stat(path), HISTORY_LIMIT)
        except OSError as exc:
            return f"{path} cannot be read ({exc.strerror or type(exc).__name__})"
        if problem:
            return f"{path} {problem}"
        try:
            import h5py

            with h5py.File(path, "r") as handle:
                list(handle.keys())
        except Exception as exc:  # noqa: BLE001 - any failure means the file is unusable
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
            return f"{path} is not a weights file h5py can read ({first})"
        return None

    def set_status(self, status: str, **details: Any) -> None:
        """Record ``status`` (and details) atomically, keeping what earlier statuses said."""
        try:
            previous = load_json(self.file("status"))
        except RunFolderError:
            previous = {}  # none yet, or damaged: this write replaces it
        previous.pop("problem", None)
        previous.update(
            details, status=status, updated=time.strftime("%Y-%m-%dT%H:%M:%S"), **own_identity()
        )
        write_json(self.file("status"), previous)

    # -- contents --------------------------------------------------------------------------

    def write_start(
        self, config: dict[str, Any], data_record: dict[str, Any], environment: dict[str, Any]
    ) -> None:
        self.write_config(config)
        write_json(self.file("data"), data_record)
        write_json(self.file("environment"), environment)

    def write_config(self, config: dict[str, Any]) -> None:
        """config.json, with paths made absolute so the run works from any directory."""
        write_json(self.file("config"), with_absolute_paths(config))

    def write_history(self, history: dict[str, list[float]]) -> None:
        keys = list(history)
        with atomic_file(self.file("history"), "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["epoch", *keys])
            for epoch, values in enumerate(zip(*(history[k] for k in keys), strict=True), 1):
                writer.writerow([epoch, *values])

    def read_history(self) -> dict[str, list[float]]:
        """Per-epoch values from history.csv ({} when there is none yet).

        Raises:
            RunFolderError: the file is not a history this module wrote.
        """
        path = self.file("history")
        if not path.exists():
            return {}
        return parse_history(path, read_text(path, HISTORY_LIMIT))

    def save_model(self, model: keras.Model) -> None:
        """Save through a partial file, then record its checksum.

        Raises:
            WriteFailed: the disk is full, a size limit was reached, the folder is read-only.
        """
        # Keras wants the .keras suffix; the partial name keeps it.
        partial = self.path / f".{MODEL_FILE}.{os.getpid()}.partial.keras"
        try:
            with writing(self.model_path):
                model.save(partial)
                digest = file_sha256(partial)
                os.replace(partial, self.model_path)
        finally:
            partial.unlink(missing_ok=True)
        write_json(self.path / CHECKSUM_FILE, {MODEL_FILE: digest})

    def save_weights(self, model: keras.Model, weights: list[Any]) -> None:
        """Save ``weights`` (the best epoch's) through a partial file, leaving the model's
        own weights as they were (Keras wants the .weights.h5 suffix)."""
        path = self.path / BEST_WEIGHTS_FILE
        last = model.get_weights()
        partial = path.with_name(f".{os.getpid()}.partial.{path.name}")
        model.set_weights(weights)
        try:
            with writing(path):
                model.save_weights(partial)
                os.replace(partial, path)
        finally:
            model.set_weights(last)
            partial.unlink(missing_ok=True)

    def model_digest(self) -> str | None:
        """The recorded sha256 of model.keras; None when model.sha256.json is missing.

        Raises:
            RunFolderError: model.sha256.json is damaged.
        """
        return recorded_digest(self.path) if (self.path / CHECKSUM_FILE).exists() else None

    def complete(
        self,
        history: dict[str, list[float]],
        metrics: dict[str, Any],
        model: keras.Model,
        evaluation: dict[str, Any] | None = None,
    ) -> None:
        """Write the results, the model and the figures, then (only then) say ``complete``.

        Args:
            history: per-epoch losses and metrics.
            metrics: what metrics.json holds (task, test metrics, timings).
            model: the trained keras.Model.
            evaluation: the test part's detailed numbers, for evaluation.json and plots/.
        """
        from zoo.runs.curves import plot_in_background, with_plot_names

        evaluation = with_plot_names(evaluation) if evaluation is not None else None
        plots = self.file("plots")
        plotting = plot_in_background(history, self.file("curves"), evaluation, plots)
        try:
            self.write_history(history)
            write_json(self.file("metrics"), metrics)
            if evaluation is not None:
                write_json(self.file("evaluation"), evaluation)
            self.save_model(model)
        finally:
            # Joined even on failure: a thread left drawing at exit can abort the process.
            plotting.join()
        plotting.wait()
        self.set_status("complete", epochs_done=len(next(iter(history.values()), [])))

    def write_evaluation(self, evaluation: dict[str, Any], under: str | None = None) -> Path:
        """evaluation.json and its plots (``zoo evaluate``), drawn here: no training to
        overlap. ``under``: a sub-folder of ``evaluations/`` (another data set's rows), so
        that the run's own test evaluation stays as it was. Returns the folder written."""
        from zoo.runs.curves import plot_evaluation, with_plot_names

        target = self.path / "evaluations" / under if under else self.path
        with writing(target):
            target.mkdir(parents=True, exist_ok=True)
        evaluation = with_plot_names(evaluation)
        write_json(target / FILES["evaluation"], evaluation)
        plot_evaluation(evaluation, target / FILES["plots"])
        return target


class NoFolder:
    """The folder of a run that keeps none (``--no-save``, a cross-validated run's fold): the
    same calls as :class:`RunFolder`, writing nothing, so that a job never asks whether it
    has a folder."""

    path: Path | None = None

    def log_dir(self, name: str) -> str | None:
        return None

    def resume_hint(self) -> str:
        return ""

    def status(self) -> dict[str, Any]:
        return {}

    def set_status(self, status: str, **details: Any) -> None:
        """Nothing to record."""

    def write_config(self, config: dict[str, Any]) -> None:
        """Nothing to record."""

    def write_history(self, history: dict[str, list[float]]) -> None:
        """Nothing to record."""

    def save_model(self, model: keras.Model) -> None:
        """Nothing to record."""

    def save_weights(self, model: keras.Model, weights: list[Any]) -> None:
        """Nothing to record."""

    def complete(
        self,
        history: dict[str, list[float]],
        metrics: dict[str, Any],
        model: keras.Model,
        evaluation: dict[str, Any] | None = None,
    ) -> None:
        """Nothing to record."""


def _new_folder(runs: Path, name: str) -> Path:
    runs.mkdir(parents=True, exist_ok=True)
    path, n = runs / name, 1
    while True:
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1
            path = runs / f"{name}-{n}"


STATUSES = ("running", "complete", "failed", "interrupted")


def read_status(path: Path) -> dict[str, Any]:
    """A run folder's status: ``running`` turns ``crashed`` once its process is gone, and a
    status file that cannot be read gives ``broken`` with the ``problem``."""
    status_file = Path(path) / FILES["status"]
    if not status_file.exists():
        return {"status": "unknown"}
    try:
        status = load_json(status_file)
    except ZooError as exc:
        return {"status": "broken", "problem": str(exc)}
    if status.get("status") not in STATUSES:
        problem = damaged(status_file, f"holds an unknown status {shown(status.get('status'))}")
        return {"status": "broken", "problem": str(problem)}
    if status["status"] == "running" and not alive(status.get("pid"), status.get("pid_started")):
        status["status"] = "crashed"
    return status


def parse_history(path: Path, text: str) -> dict[str, list[float]]:
    """The columns of a history.csv (``epoch`` dropped) as floats.

    Raises:
        RunFolderError: no header, a row of another width, or a value that is not a number.
    """
    rows = list(csv.reader(text.splitlines()))
    if not rows or not rows[0] or rows[0][0] != "epoch":
        raise damaged(path, "has no 'epoch,...' header row")
    keys = rows[0][1:]
    history: dict[str, list[float]] = {key: [] for key in keys}
    for number, row in enumerate(rows[1:], 2):
        if len(row) != len(keys) + 1:
            raise damaged(path, f"line {number} has {len(row)} fields, not {len(keys) + 1}")
        try:
            for key, value in zip(keys, row[1:], strict=True):
                history[key].append(float(value))
        except ValueError:
            raise damaged(path, f"line {number} holds a value that is not a number") from None
    return history
