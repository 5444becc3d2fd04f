"""The conformance kit: checks that a plugin's data sets, models and presets work in keras-zoo.

For plugin authors (and keras-zoo's own tests)::

    from zoo.testing import check_plugin, parametrize_plugin_checks

    check_plugin("my-plugin")  # runs every check, raises listing each failure

    @parametrize_plugin_checks("my-plugin")  # or: one pytest test per check
    def test_my_plugin(check):
        check()

See docs/plugins.md for every check and how to declare expected failures.
"""

from __future__ import annotations

from zoo.testing.kit import (
    Check,
    PluginCheckError,
    Report,
    check_plugin,
    parametrize_plugin_checks,
    plugin_checks,
)

__all__ = [
    "Check",
    "PluginCheckError",
    "Report",
    "check_plugin",
    "parametrize_plugin_checks",
    "plugin_checks",
]
