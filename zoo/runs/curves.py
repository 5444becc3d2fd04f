"""The training curves of a run, as a PNG that a person would rather look at than read, drawn
in a helper process started when the run starts.

Importing matplotlib and drawing a figure take about a second of interpreter time. In the
run's own process that second comes after training (or takes the interpreter from it), on
the critical path of every saved run. A helper process (``python -m zoo.runs.curves``)
imports matplotlib on another core while the run imports its backend and trains, then draws
as soon as the history is known.

The protocol is one JSON line per figure on the helper's stdin (``history``, ``path``) and
one reply line on its stdout: ``ok``, or ``error`` and the reason. The helper ends when its
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
from typing import IO

from zoo.core.config import switched_off
from zoo.runs.files import atomic_file


def import_plotting() -> None:
    """Import what :func:`plot_history` needs (the helper process does it ahead of time)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401
    from matplotlib.ticker import MaxNLocator  # noqa: F401


class BackgroundPlot:
    """A plot drawn on another thread while the caller saves the model; ``wait`` joins it.

    Where no helper process runs (``start``): matplotlib is imported there.
    """

    def __init__(self, history: dict[str, list[float]], path: Path) -> None:
        self.error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._draw, args=(history, path), name="zoo-plot", daemon=True
        )
        self._thread.start()

    def _draw(self, history: dict[str, list[float]], path: Path) -> None:
        try:
            plot_history(history, path)
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


def plot_in_background(history: dict[str, list[float]], path: Path) -> BackgroundPlot | HelperPlot:
    """Start drawing the curves: in the helper process when one runs, else on a thread.

    Either way ``join`` waits without raising and ``wait`` raises what drawing raised.
    """
    return HelperPlot.request(history, path, plot_history) or BackgroundPlot(history, path)


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


Draw = Callable[[dict[str, list[float]], Path], None]

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
    """One figure requested from the helper; ``join`` waits for its reply."""

    def __init__(
        self, helper: subprocess.Popen[str], history: dict, path: Path, draw_here: Draw
    ) -> None:
        self._helper, self._history, self._path = helper, history, path
        self._draw_here = draw_here
        self._pending = True  # holds the lock until the reply is read
        self.done = False

    @classmethod
    def request(
        cls, history: dict[str, list[float]], path: Path, draw_here: Draw
    ) -> HelperPlot | None:
        """Send a figure to a running helper; None when there is none or it is gone.

        ``draw_here`` draws it in this process should the helper not.
        Holds the helper (the lock) until ``join``: replies come back in request order.
        """
        _lock.acquire()
        helper = running()
        if helper is None or helper.stdin is None:
            _lock.release()
            return None
        try:
            helper.stdin.write(json.dumps({"history": history, "path": str(path)}) + "\n")
            helper.stdin.flush()
        except (OSError, ValueError):  # the helper died: draw here instead
            _lock.release()
            return None
        return cls(helper, history, path, draw_here)

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
            self._draw_here(self._history, self._path)
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
            draw(request["history"], Path(request["path"]))
        except Exception as exc:  # noqa: BLE001 - reported, then drawn by the run itself
            print(f"error {type(exc).__name__}: {exc}".replace("\n", " "), flush=True)
        else:
            print("ok", flush=True)
    # The run waits for this process to end: skip the collections Python runs at exit
    # over matplotlib's objects, which free nothing the end of the process does not.
    gc.freeze()


if __name__ == "__main__":  # the helper process (started by start() above)
    serve(import_plotting, plot_history)
