"""The keras-zoo conformance kit over this plugin: one test per check."""

from pathlib import Path

from zoo.testing import parametrize_plugin_checks

# The npz data set reads a file: a small sample ships with the tests.
SAMPLE = Path(__file__).with_name("sample.npz")


@parametrize_plugin_checks("example", params={"npz": {"path": str(SAMPLE)}})
def test_example_plugin(check):
    check()
