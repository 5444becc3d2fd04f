"""The figures of a run: its training curves (``curves.png``) and its evaluation's plots
(``plots/``: confusion matrix, ROC and precision-recall curves, residuals), PNGs a person
would rather look at than read, drawn in a helper process started when the run starts.

Importing matplotlib and drawing a figure take about a second of interpreter time. In the
run's own process that second comes after training (or takes the interpreter from it), on
the critical path of every saved run. A helper process (``python -m zoo.runs.curves``)
imports matplotlib on another core while the run imports its backend and trains, then draws
as soon as the history is known.

The protocol is one JSON line per request on the helper's stdin (``history``, ``path``, and
the evaluation's numbers and ``plots`` folder when there are any) and one reply line on its
stdout: ``ok``, or ``error`` and the reason. The helper ends when its
stdin closes (the run's process exited, however it exited). Whenever the helper cannot be
started, dies, or fails to draw, the figure is drawn in the run's own process instead, so
that the outcome (a PNG, or the error the drawing raises) is what it would be without one
(``ZOO_PLOT_HELPER=off``: always in the run's process).
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from zoo.core.config import switched_off
from zoo.runs.files import atomic_file, writing


def import_plotting() -> None:
    """Import what :func:`plot_history` needs (the helper process does it ahead of time)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401
    from matplotlib.ticker import MaxNLocator  # noqa: F401


class BackgroundPlot:
    """Figures drawn on another thread while the caller saves the model; ``wait`` joins it.

    Where no helper process runs (``start``): matplotlib is imported there.
    """

    def __init__(self, request: dict[str, Any]) -> None:
        self.error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._draw, args=(request,), name="zoo-plot", daemon=True
        )
        self._thread.start()

    def _draw(self, request: dict[str, Any]) -> None:
        try:
            draw_figures(request)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            self.error = exc

    def join(self) -> None:
        """Wait for the drawing to end, whatever became of it."""
        self._thread.join()

    def wait(self) -> None:
        """Wait for the drawing, raising what it raised."""
        self._thread.join()
        if self.error is not None:
            raise self.error


def plot_in_background(
    history: dict[str, list[float]],
    path: Path,
    evaluation: dict[str, Any] | None = None,
    plots: Path | None = None,
) -> BackgroundPlot | HelperPlot:
    """Start drawing the curves (and the ``evaluation``'s plots into the folder ``plots``):
    in the helper process when one runs, else on a thread.

    Either way ``join`` waits without raising and ``wait`` raises what drawing raised.
    """
    request: dict[str, Any] = {"history": history, "path": str(path)}
    if evaluation is not None and plots is not None:
        request.update(evaluation=evaluation, plots=str(plots))
    return HelperPlot.request(request, draw_figures) or BackgroundPlot(request)


def draw_figures(request: dict[str, Any]) -> None:
    """What one request asks for: the curves, then the evaluation's plots, if any."""
    plot_history(request["history"], Path(request["path"]))
    if request.get("evaluation") is not None:
        plot_evaluation(request["evaluation"], Path(request["plots"]))


def plot_history(history: dict[str, list[float]], path: Path) -> None:
    """One panel per metric: the training curve and, when present, the validation curve."""
    # The object-oriented API: no pyplot global state, no display backend needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    names = [k for k in history if not k.startswith("val_") and k != "learning_rate"]
    if not names:
        return
    fig = Figure(figsize=(4.5 * len(names), 3.4))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names, strict=True):
        epochs = range(1, len(history[name]) + 1)
        # A line needs two points: markers make a short run (one epoch) visible.
        marker = "o" if len(epochs) <= 30 else None
        ax.plot(epochs, history[name], label="training", marker=marker)
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], label="validation", marker=marker)
        ax.set_title(name.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 1.5
        if min(history[name]) > 0 and max(history[name]) > 20 * min(history[name]):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    with atomic_file(path, "wb") as handle:  # never half a PNG under the final name
        fig.savefig(handle, dpi=100, format="png")


def evaluation_plots(evaluation: dict[str, Any]) -> list[str]:
    """The PNG files :func:`plot_evaluation` draws for these numbers (names in ``plots/``)."""
    if evaluation.get("task") == "regression":
        return ["predicted_vs_true.png", "residuals.png"] if evaluation.get("rows") else []
    names = ["confusion_matrix.png"] if evaluation.get("confusion_matrix") else []
    if "roc_curve" in evaluation:
        names += ["roc_curve.png", "precision_recall_curve.png"]
    return names


def with_plot_names(evaluation: dict[str, Any]) -> dict[str, Any]:
    """``evaluation`` listing the plots drawn from it (``plots/NAME.png``, beside it)."""
    return {**evaluation, "plots": [f"plots/{name}" for name in evaluation_plots(evaluation)]}


def plot_evaluation(evaluation: dict[str, Any], folder: Path) -> None:
    """The plots of an evaluation's numbers (``zoo.train.scoring.evaluation_report``), each
    written atomically into ``folder``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = evaluation_plots(evaluation)
    if names:
        with writing(folder):
            folder.mkdir(exist_ok=True)
    for name in names:
        fig = Figure(figsize=(9.0, 3.8) if name == "residuals.png" else (4.8, 4.2))
        FigureCanvasAgg(fig)
        _DRAW[name](fig, evaluation)
        # Fixed margins: tight_layout draws the figure once more, doubling its cost.
        fig.subplots_adjust(left=0.17, right=0.95, bottom=0.14, top=0.9, wspace=0.3)
        if name == "confusion_matrix.png":  # room for rotated class names
            fig.subplots_adjust(left=0.2, right=0.9, bottom=0.22)
        with atomic_file(folder / name, "wb") as handle:
            fig.savefig(handle, dpi=100, format="png")


def _confusion(fig: Any, evaluation: dict[str, Any]) -> None:
    matrix, classes = evaluation["confusion_matrix"], evaluation["classes"]
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues", vmin=0)  # colours scaled from zero counts
    fig.colorbar(image, ax=ax)
    ticks = range(len(classes))
    if len(classes) <= 20:  # past that, the labels and counts overlap into a blur
        ax.set_xticks(ticks, [str(c)[:12] for c in classes], rotation=45, ha="right")
        ax.set_yticks(ticks, [str(c)[:12] for c in classes])
        top = max(max(row) for row in matrix) or 1
        for i, row in enumerate(matrix):
            for j, count in enumerate(row):
                ax.text(j, i, count, ha="center", va="center",
                        color="white" if count > top / 2 else "black")  # fmt: skip
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix")


def _roc(fig: Any, evaluation: dict[str, Any]) -> None:
    curve = evaluation["roc_curve"]
    ax = fig.subplots()
    ax.plot(curve["fpr"], curve["tpr"], label=f"AUC {curve['auc']:.3f}")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")


def _precision_recall(fig: Any, evaluation: dict[str, Any]) -> None:
    curve = evaluation["precision_recall_curve"]
    ax = fig.subplots()
    label = f"average precision {curve['average_precision']:.3f}"
    ax.plot(curve["recall"], curve["precision"], label=label)
    ax.set(xlabel="recall", ylabel="precision", title="precision-recall curve")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")


def _predicted_vs_true(fig: Any, evaluation: dict[str, Any]) -> None:
    true, predicted = evaluation["sample"]["true"], evaluation["sample"]["predicted"]
    ax = fig.subplots()
    ax.scatter(true, predicted, s=10, alpha=0.6)
    low, high = min(true + predicted), max(true + predicted)
    ax.plot([low, high], [low, high], linestyle="--", color="grey", label="predicted = true")
    ax.set(xlabel="true", ylabel="predicted", title="predicted vs true")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")


def _residuals(fig: Any, evaluation: dict[str, Any]) -> None:
    true, predicted = evaluation["sample"]["true"], evaluation["sample"]["predicted"]
    residuals = [p - t for t, p in zip(true, predicted, strict=True)]
    scatter, histogram = fig.subplots(1, 2)
    scatter.scatter(predicted, residuals, s=10, alpha=0.6)
    scatter.axhline(0, linestyle="--", color="grey")
    scatter.set(xlabel="predicted", ylabel="residual (predicted - true)", title="residuals")
    histogram.hist(residuals, bins=max(5, min(30, len(residuals) // 4)))
    histogram.set(xlabel="residual (predicted - true)", ylabel="rows", title="distribution")
    for ax in (scatter, histogram):
        ax.grid(alpha=0.3)


_DRAW = {
    "confusion_matrix.png": _confusion,
    "roc_curve.png": _roc,
    "precision_recall_curve.png": _precision_recall,
    "predicted_vs_true.png": _predicted_vs_true,
    "residuals.png": _residuals,
}

Draw = Callable[[dict[str, Any]], None]

# ZOO_PLOT_HELPER=off draws in the run's own process (for debugging a figure).
SWITCH = "ZOO_PLOT_HELPER"

_lock = threading.Lock()  # one request at a time: replies come back in order


class _Helper:
    """This process's helper: the child process, and the pid that started it (a forked
    child must never share its parent's pipes)."""

    process: subprocess.Popen[str] | None = None
    owner = 0
    stops_at_exit = False


def running() -> subprocess.Popen[str] | None:
    """This process's live helper, if any (callers that then use it hold the lock)."""
    if _Helper.owner != os.getpid():  # none yet, or a fork: the helper is the parent's
        _Helper.process = None
    process = _Helper.process
    return process if process is not None and process.poll() is None else None


def start() -> None:
    """Start the helper process, unless one is running or it is switched off.

    Best effort: a helper that cannot be started leaves the drawing to this process.
    """
    if switched_off(SWITCH):
        return
    with _lock:
        if running() is not None:
            return
        try:
            _Helper.process, _Helper.owner = _spawn(), os.getpid()
        except OSError:
            _Helper.process = None
            return
    if not _Helper.stops_at_exit:
        _Helper.stops_at_exit = True
        atexit.register(stop)


def _spawn() -> subprocess.Popen[str]:
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [sys.executable, "-m", "zoo.runs.curves"],  # its __main__ calls serve()
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # failures come back as reply lines
        text=True,
        env=env,
    )


def stop() -> None:
    """Close the helper's input (it ends by itself) and reap it."""
    with _lock:
        running()  # after a fork, forgets the parent's helper: the parent closes it
        helper, _Helper.process = _Helper.process, None
        if helper is None:
            return
        _close(helper.stdin)
        try:
            helper.wait(timeout=5)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()
        _close(helper.stdout)


def _close(stream: IO[str] | None) -> None:
    try:
        if stream:
            stream.close()
    except OSError:
        pass


class HelperPlot:
    """One request (its figures) sent to the helper; ``join`` waits for its reply."""

    def __init__(self, helper: subprocess.Popen[str], request: dict, draw_here: Draw) -> None:
        self._helper, self._request = helper, request
        self._draw_here = draw_here
        self._pending = True  # holds the lock until the reply is read
        self.done = False

    @classmethod
    def request(cls, request: dict[str, Any], draw_here: Draw) -> HelperPlot | None:
        """Send a request to a running helper; None when there is none or it is gone.

        ``draw_here`` draws it in this process should the helper not.
        Holds the helper (the lock) until ``join``: replies come back in request order.
        """
        _lock.acquire()
        helper = running()
        if helper is None or helper.stdin is None:
            _lock.release()
            return None
        try:
            helper.stdin.write(json.dumps(request) + "\n")
            helper.stdin.flush()
        except (OSError, ValueError):  # the helper died: draw here instead
            _lock.release()
            return None
        return cls(helper, request, draw_here)

    def join(self) -> None:
        """Wait for the helper's reply (once); it released the helper."""
        if not self._pending:
            return
        self._pending = False
        try:
            reply = self._helper.stdout.readline() if self._helper.stdout else ""
        except (OSError, ValueError):
            reply = ""
        finally:
            _lock.release()
        self.done = reply.strip() == "ok"
        if not reply:  # it died mid-figure: nothing can be sent to it any more
            _Helper.process = None

    def wait(self) -> None:
        """Wait, and when the helper did not draw the figure, draw it here (raising what
        drawing raises: the same error, and the same partial-free folder, as without one)."""
        self.join()
        if not self.done:
            self._draw_here(self._request)
            self.done = True


def serve(prepare: Callable[[], None], draw: Draw) -> None:
    """The helper's loop: ``prepare`` (import matplotlib), then ``draw`` each figure asked."""
    # A Ctrl-C in the terminal reaches the whole process group; the run decides what
    # happens, and this process ends when the run's process closes its input.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGXFSZ"):  # past a file-size limit: an error to report, not death
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    prepare()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            draw(request)
        except Exception as exc:  # noqa: BLE001 - reported, then drawn by the run itself
            print(f"error {type(exc).__name__}: {exc}".replace("\n", " "), flush=True)
        else:
            print("ok", flush=True)
    # The run waits for this process to end: skip the collections Python runs at exit
    # over matplotlib's objects, which free nothing the end of the process does not.
    gc.freeze()


if __name__ == "__main__":  # the helper process (started by start() above)
    serve(import_plotting, draw_figures)
