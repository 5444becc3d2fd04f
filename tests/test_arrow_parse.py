"""The pyarrow fast path for plain numeric CSV lines: the careful parser's numbers, or None."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zoo.plugins.csv_files.arrow_parse import arrow_numbers

pytest.importorskip("pyarrow")

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
spelled = st.one_of(
    finite.map(repr), finite.map(lambda v: f"{v:.5g}"), st.integers(-(10**12), 10**12).map(str)
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(spelled, min_size=3, max_size=3), min_size=1, max_size=20))
def test_plain_numbers_read_as_python_reads_them(rows):
    table = arrow_numbers([",".join(row) for row in rows], ",", 3)
    assert table is not None
    expected = np.array([[float(v) for v in row] for row in rows])
    np.testing.assert_array_equal(table, expected)


def test_an_empty_field_is_missing_as_in_the_careful_parser():
    table = arrow_numbers(["1,,3", "4,5,6"], ",", 3)
    assert table is not None and math.isnan(table[0, 1]) and table[1].tolist() == [4, 5, 6]


@pytest.mark.parametrize(
    "lines",
    [
        ["1,NA,3"],  # another spelling of missing: reported as text by the careful parser
        ["1,null,3"],
        ["1,abc,3"],
        ['1,"2",3'],  # quotes: the careful parser's business
        ["1,2"],  # too few fields
        ["1,2,3,4"],  # too many
        ["1,2,3", ""],  # an empty line keeps its number only in the careful parser
    ],
)
def test_anything_else_goes_to_the_careful_parser(lines):
    assert arrow_numbers(lines, ",", 3) is None


def test_another_delimiter():
    table = arrow_numbers(["1;2.5;-3e2"], ";", 3)
    assert table is not None and table.tolist() == [[1.0, 2.5, -300.0]]


def test_the_fast_path_does_not_import_pandas():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from zoo.plugins.csv_files.arrow_parse import arrow_numbers\n"
        "table = arrow_numbers(['1,,3', '4,5,6'], ',', 3)\n"
        "print(table.shape, 'pandas' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split() == ["(2,", "3)", "False"], done.stderr
