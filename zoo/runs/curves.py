"""The training curves of a run, as a PNG that a person would rather look at than read."""

from __future__ import annotations

import threading
from pathlib import Path

from zoo.runs.files import atomic_file
from zoo.runs.plot_helper import HelperPlot, serve


def import_plotting() -> None:
    """Import what :func:`plot_history` needs (the helper process does it ahead of time)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401
    from matplotlib.ticker import MaxNLocator  # noqa: F401


class BackgroundPlot:
    """A plot drawn on another thread while the caller saves the model; ``wait`` joins it.

    Where no helper process runs (``zoo.runs.plot_helper``): matplotlib is imported there.
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


if __name__ == "__main__":  # the helper process (zoo.runs.plot_helper)
    serve(import_plotting, plot_history)
