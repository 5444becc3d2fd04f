"""``zoo predict --output PATH`` for every kind of PATH: a regular file is replaced atomically,
anything else is written through and never replaced, and a path that cannot be written is
one line on stderr with a non-zero exit."""

from __future__ import annotations

import os
import stat
import sys
import threading
from pathlib import Path

import pytest
from helpers import write_tiny_csv

ROWS = 3


@pytest.fixture
def predict(tiny_run, zoo_cli, tmp_path):
    """``zoo predict`` of the tiny run on three rows, to the output given."""
    inputs = write_tiny_csv(tmp_path / "inputs.csv", rows=ROWS)

    def run(output: str | Path) -> tuple[int, str, str]:
        return zoo_cli("predict", str(tiny_run), "-i", str(inputs), "-o", str(output))

    return run


def is_predictions(text: str) -> bool:
    lines = text.splitlines()
    return lines[0] == "prediction" and len(lines) == ROWS + 1


def assert_one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 1 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zoo: error: Cannot write"), err
    for word in words:
        assert word in err, err


def test_a_regular_file_is_replaced_keeping_its_permissions(predict, tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    out.chmod(0o640)
    code, _, err = predict(out)
    assert code == 0, err
    assert is_predictions(out.read_text()) and stat.S_IMODE(out.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs.csv", "out.csv"]  # no partial


def test_a_symlink_stays_a_link_and_its_target_gets_the_predictions(predict, tmp_path):
    target = tmp_path / "real.csv"
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "new.csv")
    for path, written in ((link, target), (dangling, tmp_path / "new.csv")):
        code, _, err = predict(path)
        assert code == 0, err
        assert path.is_symlink() and is_predictions(written.read_text())


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
def test_a_named_pipe_is_written_through_to_its_reader(predict, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    code, _, err = predict(fifo)
    reader.join(timeout=60)
    assert code == 0, err
    assert received and is_predictions(received[0])
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still a pipe, not a file put in its place


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_a_full_device_is_one_line_and_stays_a_device(predict):
    code, _, err = predict("/dev/full")
    assert_one_line_error(code, err, "/dev/full", "No space left")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_dash_means_stdout(predict, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = predict("-")
    assert code == 0 and is_predictions(out), err
    assert not (tmp_path / "-").exists()


def test_a_missing_folder_is_one_line(predict, tmp_path):
    code, _, err = predict(tmp_path / "no" / "such" / "out.csv")
    assert_one_line_error(code, err, "does not exist")


def test_a_folder_is_one_line_and_left_alone(predict, tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    code, _, err = predict(folder)
    assert code != 0 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert folder.is_dir() and not list(folder.iterdir())


def read_only_folder(tmp_path: Path) -> Path:
    """A folder this process cannot write in (root ignores permission bits; /sys refuses)."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    if sys.platform.startswith("linux") and os.path.isdir("/sys"):
        return Path("/sys")  # sysfs refuses new files, even to root
    pytest.skip("no folder that refuses this user")


def test_a_read_only_folder_is_one_line(predict, tmp_path):
    folder = read_only_folder(tmp_path)
    code, _, err = predict(folder / "out.csv")
    assert_one_line_error(code, err, str(folder))
    assert not (folder / "out.csv").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write read-only files")
def test_a_read_only_file_is_not_replaced(predict, tmp_path):
    out = tmp_path / "kept.csv"
    out.write_text("keep me\n")
    out.chmod(0o444)
    code, _, err = predict(out)
    assert_one_line_error(code, err, "read-only")
    assert out.read_text() == "keep me\n"
