"""Messages for inputs that used to end in a traceback, minutes of retries or a screenful:
each is one line naming the cause, raised before anything is written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zoo import hookimpl
from zoo.core.errors import InvalidParameterError, plain, shown

FAST = settings(max_examples=40, deadline=None)


def one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text and "\x1b" not in text and len(text) < 600, text
    return text


# -- values quoted into messages ------------------------------------------------------------


@FAST
@given(st.one_of(st.text(max_size=400), st.binary(max_size=400)), st.integers(10, 100))
def test_a_quoted_value_is_cut_with_an_ellipsis_and_its_length(value, limit):
    text = shown(value, limit)
    if len(value) <= limit:
        assert text == repr(value)
    else:
        assert text.endswith(
            f"({len(value):,} {'characters' if isinstance(value, str) else 'bytes'})"
        )
        assert "..." in text and len(text) < 4 * limit + 40


def test_a_huge_or_deeply_nested_value_stays_short():
    assert len(shown("x" * 50_000_000)) < 120
    nested: list = []
    for _ in range(50_000):
        nested = [nested]
    assert len(shown(nested)) < 200 and len(shown(list(range(10**6)))) < 200


def test_escape_sequences_are_stripped():
    raw = "Exception encountered.\x1b[1mboom\x1b[0m \x1b]0;title\x07done"
    assert plain(raw) == "Exception encountered.boom done"


# -- tracking URIs (no MLflow import, no server contacted but a refused local port) ---------


def _sqlite_in(folder: Path) -> str:
    return f"sqlite:///{folder}/mlflow.db"


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("bogus://x", "the scheme 'bogus'"),
        ("file://", "names no folder"),
        ("/no/such/folder/mlruns", "whose parent does not exist"),
        ("sqlite:////no/such/folder/mlflow.db", "/no/such/folder, which does not exist"),
        ("sqlite://", "names no database file"),
        ("http://127.0.0.1:1", "cannot be reached"),
        ("http://", "names no host"),
    ],
)
def test_a_tracking_uri_mlflow_cannot_use_is_one_line(uri, fragment):
    from zoo.app.tracking import check_tracking_uri

    with pytest.raises(InvalidParameterError) as failure:
        check_tracking_uri(uri)
    assert fragment in one_line(failure.value)


def test_an_sqlite_file_that_is_not_a_database_or_in_a_read_only_folder(tmp_path):
    from zoo.app.tracking import check_tracking_uri

    (tmp_path / "mlflow.db").write_text("not a database")
    with pytest.raises(InvalidParameterError, match="not an SQLite database"):
        check_tracking_uri(_sqlite_in(tmp_path))
    locked = Path("/sys") if os.geteuid() == 0 else tmp_path / "locked"  # root writes 0o555
    if locked != Path("/sys"):
        locked.mkdir()
        locked.chmod(0o555)
    with pytest.raises(InvalidParameterError, match="cannot be written"):
        check_tracking_uri(_sqlite_in(locked))
    check_tracking_uri(_sqlite_in(tmp_path / ".."))  # a fine one passes


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write read-only files")
def test_a_read_only_sqlite_file_is_refused_at_once(tmp_path):
    from zoo.app.tracking import check_tracking_uri

    db = tmp_path / "mlflow.db"
    db.write_bytes(b"SQLite format 3\x00")
    db.chmod(0o444)
    with pytest.raises(InvalidParameterError, match="cannot be written"):
        check_tracking_uri(_sqlite_in(tmp_path))


@pytest.mark.parametrize("command", ["run", "tune"])
def test_a_bad_uri_stops_before_the_run_or_tune_folder(zoo_cli, tmp_path, command):
    runs = tmp_path / "runs"
    code, _, err = zoo_cli(
        command, "-m", "linear", "-d", "iris", "--runs-dir", str(runs), "--track", "file://"
    )
    assert code == 1 and err.startswith("zoo: error: Tracking URI 'file://' names no folder")
    assert len(err.strip().splitlines()) == 1 and not runs.exists()


# -- experiment files -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("epochs = " + "[" * 100_000 + "]" * 100_000, "brackets or braces nested more than 64"),
        ("epochs = " + "{a = " * 100_000 + "1" + "}" * 100_000, "nested more than 64"),
        (".".join(["a"] * 20_000) + " = 1", "a dotted key nested more than 64"),
        ("[" + ".".join(["a"] * 20_000) + "]\nb = 1", "line 1: a dotted key"),
        ("# " + "x" * (1 << 20), "experiment files are read up to 1,048,576 bytes"),
    ],
)
def test_a_hostile_experiment_file_is_one_line_before_parsing(zoo_cli, tmp_path, text, fragment):
    path = tmp_path / "experiment.toml"
    path.write_text(text)
    code, _, err = zoo_cli("run", "-c", str(path), "--runs-dir", str(tmp_path / "runs"))
    assert code == 1 and fragment in err and len(err.strip().splitlines()) == 1, err[:300]
    assert not (tmp_path / "runs").exists()


def test_brackets_and_dots_inside_strings_and_comments_do_not_count(tmp_path):
    from zoo.plan.overrides import read_toml

    deep = "[" * 200 + "." * 200
    path = tmp_path / "fine.toml"
    path.write_text(f'a = "{deep}"\nb = \'{deep}\'\nc = """\n{deep}\n"""  # {deep}\n[d]\ne.f = 1\n')
    assert read_toml(path, "Config file")["d"] == {"e": {"f": 1}}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_an_experiment_file_that_is_a_fifo_is_refused_without_reading(tmp_path):
    from zoo.plan.overrides import read_toml

    fifo = tmp_path / "experiment.toml"
    os.mkfifo(fifo)
    with pytest.raises(InvalidParameterError, match="not a regular file"):
        read_toml(fifo, "Config file")


# -- a Ray cluster that does not answer -----------------------------------------------------


def test_a_cluster_that_does_not_answer_is_one_line_without_rays_warning(monkeypatch):
    import warnings
    from types import SimpleNamespace

    from zoo.app.cluster import session
    from zoo.app.cluster.options import ClusterOptions
    from zoo.core.errors import IncompatibleError

    def init(**_: object) -> None:  # what Ray does for ray://nowhere:1, without the 30 s wait
        warnings.warn("/site-packages/ray/util/client/worker.py:335: timed out", stacklevel=1)
        raise ConnectionError("ray client connection timeout")

    fake = SimpleNamespace(is_initialized=lambda: False, init=init)
    monkeypatch.setattr(session, "require_ray", lambda: fake)
    with warnings.catch_warnings(record=True) as shown_warnings:
        warnings.simplefilter("always")
        with pytest.raises(IncompatibleError) as failure:
            session.ClusterSession(ClusterOptions("ray://nowhere:1"), {})
    assert not shown_warnings
    assert one_line(failure.value).startswith(
        "Cannot connect to the Ray cluster at 'ray://nowhere:1': ray client connection timeout."
    )


# -- a plugin's model failing in training ---------------------------------------------------


class _FailsTraining:
    @hookimpl
    def register_models(self, register):
        register("fails-training", _fails_training, description="raises as it trains")


def _fails_training(spec):
    import keras

    @keras.saving.register_keras_serializable(package="zoo-test-messages")
    class Boom(keras.layers.Layer):
        def call(self, x, training=None):
            if training:
                raise ValueError("boom while training")
            return x

    return keras.Sequential(
        [keras.Input(spec.input_shape), Boom(), keras.layers.Dense(spec.output_units)]
    )


def test_a_model_failing_in_training_leaves_no_escape_codes(tmp_path, capsys):
    import zoo
    from zoo.cli.main import _fail

    registry = zoo.Registry.discover(
        entry_points=False, warn=False, extra=[("fails", _FailsTraining())]
    )
    config = zoo.RunConfig(model="fails-training", data="iris", epochs=1, runs_dir=str(tmp_path))
    with pytest.raises(ValueError, match="boom while training") as failure:
        zoo.run(config, registry)
    (status,) = tmp_path.glob("*/status.json")
    record = json.loads(status.read_text())
    assert record["status"] == "failed" and "boom while training" in record["error"]
    assert "\x1b" not in status.read_text() and "\\u001b" not in status.read_text()
    with pytest.raises(SystemExit):
        _fail(f"zoo: unexpected error: ValueError: {failure.value}", 1)
    err = capsys.readouterr().err
    assert "boom while training" in err and "\x1b" not in err and len(err.splitlines()) == 1


# -- a huge value given where a short one is expected ----------------------------------------

HUGE = "x" * 5_000_000


@pytest.mark.parametrize(
    "args",
    [
        ["run", "-m", "linear", "-d", "iris", "--set", HUGE],
        ["run", "-m", HUGE, "-d", "iris"],
        ["run", "-m", "linear", "-d", "iris", "--set", f"l2={HUGE}"],
        ["run", "-m", "linear", "-d", "iris", "--set", f"model.{HUGE}=1"],
        ["run", "-m", "linear", "-d", "{csv}", "-t", HUGE],
    ],
    ids=["set", "model", "set-value", "set-key", "csv-target"],
)
def test_a_huge_value_is_quoted_short(zoo_cli, tmp_path, args):
    from helpers import write_tiny_csv

    csv = write_tiny_csv(tmp_path / "tiny.csv")
    args = [str(csv) if a == "{csv}" else a for a in args]
    code, _, err = zoo_cli(*args, "--runs-dir", str(tmp_path / "runs"), "--dry-run")
    assert code != 0 and len(err) < 2000, err[:300]
    assert "(5,000,000 characters)" in err or "..." in err
