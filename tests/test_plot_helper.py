"""The curves are drawn in a helper process (zoo.runs.curves), and drawn all the same
when the helper is switched off, cannot start, dies, or fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import heavy_imports
from zoo.core.errors import WriteFailed
from zoo.runs import curves
from zoo.runs.curves import plot_history, plot_in_background

PNG = b"\x89PNG\r\n\x1a\n"
HISTORY = {"loss": [3.0, 2.0, 1.5], "val_loss": [3.5, 2.5, float("nan")]}


@pytest.fixture
def helper():
    curves.start()
    started = curves.running()
    assert started is not None, "the helper did not start"
    yield started
    curves.stop()


def test_a_saved_run_draws_its_curves_without_matplotlib_in_the_run(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    args = ["run", "--model", "linear", "--data", "iris", "--epochs", "2", "--runs-dir", str(runs)]
    assert heavy_imports(args, ("matplotlib",)) == []
    (folder,) = runs.iterdir()
    assert (folder / "curves.png").read_bytes()[:8] == PNG


def test_the_helper_draws_a_figure_and_serves_the_next(helper, tmp_path: Path) -> None:
    for name in ("one.png", "two.png"):
        pending = plot_in_background(HISTORY, tmp_path / name)
        assert isinstance(pending, curves.HelperPlot)
        pending.wait()
        assert pending.done
        assert (tmp_path / name).read_bytes()[:8] == PNG
    assert helper.poll() is None  # still there for the next run of this process


def test_switched_off_the_figure_is_drawn_here(monkeypatch, tmp_path: Path) -> None:
    curves.stop()
    monkeypatch.setenv(curves.SWITCH, "off")
    curves.start()
    assert curves.running() is None
    pending = plot_in_background(HISTORY, tmp_path / "here.png")
    assert not isinstance(pending, curves.HelperPlot)
    pending.wait()
    assert (tmp_path / "here.png").read_bytes()[:8] == PNG


def test_a_helper_that_cannot_start_leaves_the_drawing_here(monkeypatch, tmp_path: Path) -> None:
    curves.stop()
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    curves.start()
    assert curves.running() is None
    plot_in_background(HISTORY, tmp_path / "here.png").wait()
    assert (tmp_path / "here.png").read_bytes()[:8] == PNG


def test_a_helper_that_died_before_the_figure_is_replaced_by_drawing_here(
    helper, tmp_path: Path
) -> None:
    helper.kill()
    helper.wait()
    pending = plot_in_background(HISTORY, tmp_path / "after-death.png")
    pending.wait()
    assert (tmp_path / "after-death.png").read_bytes()[:8] == PNG


def test_a_helper_that_dies_mid_figure_is_replaced_by_drawing_here(helper, tmp_path: Path) -> None:
    pending = plot_in_background(HISTORY, tmp_path / "mid.png")
    assert isinstance(pending, curves.HelperPlot)
    helper.kill()
    pending.wait()
    assert (tmp_path / "mid.png").read_bytes()[:8] == PNG
    assert curves.running() is None  # forgotten: the next run starts a new one
    curves.start()
    assert curves.running() is not None


def test_a_figure_the_helper_cannot_write_raises_the_error_drawing_here_raises(
    helper, tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with pytest.raises(WriteFailed) as expected:  # one line naming the file
        plot_history(HISTORY, blocked / "curves.png")
    pending = plot_in_background(HISTORY, blocked / "curves.png")
    assert isinstance(pending, curves.HelperPlot)
    pending.join()  # joining never raises...
    assert not pending.done
    with pytest.raises(WriteFailed) as raised:  # ...waiting raises what drawing here raises
        pending.wait()
    assert str(raised.value) == str(expected.value)
    assert helper.poll() is None  # a failed figure does not end the helper


def test_the_helper_reports_a_bad_request_and_goes_on(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    request = '{"history": {"loss": [1.0, 0.5]}, "path": "%s"}\n' % (tmp_path / "ok.png")
    done = subprocess.run(
        [sys.executable, "-m", "zoo.runs.curves"],
        input="not json\n" + request,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first.startswith("error JSONDecodeError")
    assert second == "ok"
    assert (tmp_path / "ok.png").read_bytes()[:8] == PNG


def test_the_helper_ends_when_its_input_closes(helper) -> None:
    curves.stop()
    assert helper.poll() == 0
    assert curves.running() is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork")
def test_a_forked_child_never_writes_to_its_parent_s_helper(helper, tmp_path: Path) -> None:
    child = os.fork()
    if child == 0:  # the child: its figure is drawn without the parent's helper
        try:
            pending = plot_in_background(HISTORY, tmp_path / "child.png")
            pending.wait()
            os._exit(0 if not isinstance(pending, curves.HelperPlot) else 3)
        except BaseException:  # noqa: BLE001 - any failure is the exit code
            os._exit(4)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert (tmp_path / "child.png").read_bytes()[:8] == PNG
    pending = plot_in_background(HISTORY, tmp_path / "parent.png")  # the parent's still serves
    assert isinstance(pending, curves.HelperPlot)
    pending.wait()
    assert (tmp_path / "parent.png").read_bytes()[:8] == PNG
