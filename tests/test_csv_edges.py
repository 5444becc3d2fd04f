"""CSV files at the edges: numbers float32 cannot hold, streamed files as small or as
one-sided as in-memory ones refuse, quoted fields and very long lines with the right line
numbers, and plugin data sets held to the same numbers."""

from __future__ import annotations

import re

import numpy as np
import pytest
from zoo.plugins.csv_files import data as csvdata

from zoo.core.dataset import Dataset
from zoo.core.errors import DataError
from zoo.plugin import SplitSpec

SPLIT = SplitSpec(0.2, 0.1, 42)


def load_and_split(path, stream: bool):
    """Load a CSV file (in memory or streamed) and split it, as a run does."""
    return csvdata.load_csv(str(path), "y", stream=stream).split(SPLIT)


def numeric_file(path, rows: int = 40, changes: dict[int, str] | None = None):
    """A file ``a,b,y`` whose line ``n`` (the header is line 1) is replaced by ``changes[n]``."""
    lines = ["a,b,y", *(f"{i},{i * 2},{i * 0.5 + 0.25}" for i in range(rows))]
    for number, text in (changes or {}).items():
        lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("stream", [False, True])
def test_values_beyond_float32_are_refused_with_count_and_place(tmp_path, stream):
    path = numeric_file(tmp_path / "big.csv", changes={12: "1e300,2,3.5", 30: "2,-1e39,3.5"})
    with pytest.raises(DataError) as caught:
        load_and_split(path, stream)
    message = str(caught.value)
    assert "2 problems" in message and "too large for float32" in message
    assert "line 12, column 'a'" in message and "line 30, column 'b'" in message


def test_plugin_data_sets_are_held_to_float32_too():
    x = np.ones((6, 2))
    x[4, 1] = 1e200
    with pytest.raises(DataError, match="1 value.*row 4, column 'b'"):
        Dataset(x=x, y=np.zeros(6), task="regression", feature_names=["a", "b"])
    with pytest.raises(DataError, match="targets"):
        Dataset(x=np.ones((3, 1)), y=np.array([0.0, np.nan, 1.0]), task="regression")


@pytest.mark.parametrize(
    ("rows", "labels", "expected"),
    [
        ("3 rows, each its own class", ["2", "3", "4"], "fewer than 2 rows"),
        ("one class with a single row", ["a"] * 29 + ["b"], "fewer than 2 rows: b"),
    ],
)
def test_a_streamed_file_obeys_the_in_memory_minimums(tmp_path, rows, labels, expected):
    path = tmp_path / "small.csv"
    path.write_text("a,y\n" + "".join(f"{i},{label}\n" for i, label in enumerate(labels)))
    for stream in (False, True):
        with pytest.raises(DataError, match="cannot split") as caught:
            load_and_split(path, stream)
        if stream:
            assert expected in str(caught.value), rows


def test_a_streamed_file_too_small_to_split_is_refused(tmp_path):
    path = numeric_file(tmp_path / "two.csv", rows=2)
    with pytest.raises(DataError, match="cannot split 2 rows"):
        load_and_split(path, stream=True)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("rows", [40, 12_000])  # within the sniffed sample, and beyond it
def test_line_numbers_after_quoted_fields_with_commas_and_quotes(tmp_path, stream, rows):
    lines = ["name,a,y", *(f'"x, ""q"" {i}",{i},{i * 0.5}' for i in range(rows))]
    lines[rows - 5] = '"x, 1",oops,3'  # line rows - 4
    path = tmp_path / "quoted.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=f"line {rows - 4}, column 'a': 'oops' is not a number"):
        load_and_split(path, stream)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("rows", [40, 12_000])
def test_an_unclosed_quote_is_reported_on_its_own_line(tmp_path, stream, rows):
    changes = {3: '"a, b",1,2', rows - 3: '1,"open,3'}
    path = numeric_file(tmp_path / "open.csv", rows, changes)
    with pytest.raises(DataError, match=f"line {rows - 3}: a quoted field runs over a line break"):
        load_and_split(path, stream)


@pytest.mark.parametrize("stream", [False, True])
def test_very_long_lines_keep_line_numbers_and_messages_short(tmp_path, stream):
    long_text = "z" * 300_000  # beyond the csv module's default field limit
    path = numeric_file(tmp_path / "long.csv", 40, {4: f'1,"{long_text}",3'})
    with pytest.raises(DataError) as caught:
        load_and_split(path, stream)
    message = str(caught.value)
    assert "line 4, column 'b'" in message and "300,000 characters" in message
    assert len(message) < 400
    path = numeric_file(tmp_path / "long2.csv", 40, {4: f'1,"{long_text[:200]}",3'})
    with pytest.raises(DataError, match="line 4, column 'b'"):
        load_and_split(path, stream)
    # A line longer than a read block (1 MiB): the lines after it keep their numbers.
    number = "1" + "0" * 10 + "." + "0" * 1_100_000
    path = numeric_file(tmp_path / "long3.csv", 40, {5: f"{number},2,3", 20: "1,x,3"})
    with pytest.raises(DataError, match="line 20, column 'b'"):
        load_and_split(path, stream)


def test_a_framework_side_error_is_not_announced_as_training(zoo_cli, tmp_path):
    # The bad value lies beyond the sample checked before TensorFlow loads.
    path = numeric_file(tmp_path / "late.csv", 12_000, {11_500: "1,1e300,3"})
    code, _, err = zoo_cli("run", "-m", "linear", "-d", str(path), "-t", "y", "--no-save")
    assert code == 1 and "line 11500" in err
    assert len(err.strip().splitlines()) == 1 and "zoo: training" not in err, err


@pytest.mark.parametrize("stream", [False, True])
def test_one_huge_field_does_not_take_all_the_memory(tmp_path, stream):
    # As a fixed-width NumPy text array, 5,000 rows x 3 columns at 1,000,000 characters would
    # ask for 60 GB.
    huge = "z" * 1_000_000
    path = numeric_file(tmp_path / "huge.csv", 5_000, {2_000: f'1,"{huge}",3'})
    with pytest.raises(DataError, match="line 2000, column 'b'.*is not a number"):
        load_and_split(path, stream)
    lines = ["a,label,y", *(f"{i},{'long' if i % 2 else 'short'},{i}.5" for i in range(5_000))]
    lines[1_999] = f"1,{huge},3.5"  # line 2000
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="line 2000, column 'label': a text value of 1,000,000"):
        load_and_split(path, stream)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("line", [2, 151, 1900])
def test_a_byte_that_is_not_utf8_is_reported_on_its_own_line(tmp_path, stream, line):
    path = numeric_file(tmp_path / "latin.csv", rows=2000)
    raw = path.read_bytes().split(b"\n")
    raw[line - 1] = raw[line - 1].replace(b",", b"\xe9,", 1)
    path.write_bytes(b"\n".join(raw))
    with pytest.raises(DataError, match=f"not UTF-8 text on line {line} "):
        load_and_split(path, stream)


@pytest.fixture(params=["folder", "fifo", "device"])
def not_a_file(request, tmp_path):
    """A path to a folder, a FIFO or /dev/zero (through a link named like a CSV file)."""
    import os

    path = tmp_path / "data.csv"
    if request.param == "folder":
        path.mkdir()
        return path, "is a folder"
    if request.param == "fifo":
        os.mkfifo(path)  # reading it would wait for a writer forever
        return path, "is a named pipe (FIFO)"
    path.symlink_to("/dev/zero")  # reading it would never end
    return path, "is a character device"


def test_data_that_is_not_a_regular_file_is_named_for_what_it_is(not_a_file):
    path, kind = not_a_file
    with pytest.raises(DataError, match=re.escape(f"{kind}; expected a CSV file")):
        csvdata.load_csv(str(path), "y")
    with pytest.raises(DataError, match=re.escape(kind)):  # zoo predict --input
        csvdata.read_features(path, {"features": [{"name": "a", "kind": "numeric"}]})


def test_a_class_with_one_row_is_named_by_its_label(tmp_path):
    lines = ["a,b,label", *(f"{i},{i % 7},{'cat' if i % 2 else 'dog'}" for i in range(40))]
    (tmp_path / "rare.csv").write_text("\n".join([*lines, "1,2,zebra"]) + "\n")
    with pytest.raises(DataError, match=r"fewer than 2 rows: 'zebra'\)"):
        csvdata.load_csv(str(tmp_path / "rare.csv"), "label").split(SPLIT)
