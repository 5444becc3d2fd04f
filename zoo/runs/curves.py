"""The training curves of a run, as a PNG that a person would rather look at than read."""

from __future__ import annotations

import threading
from pathlib import Path


def preload_in_background() -> None:
    """Import matplotlib on a spare core while the model trains; plotting then costs less.

    Importing it takes about half a second, which would otherwise add to every run.
    """
    threading.Thread(target=_import_matplotlib, name="zoo-preload-matplotlib", daemon=True).start()


class BackgroundPlot:
    """A plot drawn on another thread while the caller saves the model; ``wait`` joins it."""

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

    def wait(self) -> None:
        self._thread.join()
        if self.error is not None:
            raise self.error


def plot_in_background(history: dict[str, list[float]], path: Path) -> BackgroundPlot:
    return BackgroundPlot(history, path)


def _import_matplotlib() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401


def plot_history(history: dict[str, list[float]], path: Path) -> None:
    """One panel per metric: the training curve and, when present, the validation curve."""
    # The object-oriented API: no pyplot global state, no display backend needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = [k for k in history if not k.startswith("val_") and k != "learning_rate"]
    if not names:
        return
    fig = Figure(figsize=(4.5 * len(names), 3.4))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names, strict=True):
        epochs = range(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], label="training")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], label="validation")
        ax.set_title(name.replace("_", " "))
        ax.set_xlabel("epoch")
        if min(history[name]) > 0 and max(history[name]) > 20 * min(history[name]):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
