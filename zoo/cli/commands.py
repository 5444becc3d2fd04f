"""Every ``zoo`` command, one module per command group; ``zoo.cli.main`` adds them to the
group in one loop. A new command (or group) is one more module and one more entry here.

The modules import nothing heavy at module level: ``zoo --help`` and ``zoo list`` import
them all without TensorFlow or Keras.
"""

from __future__ import annotations

from zoo.cli import bench, listing, run, tune

COMMANDS = (*listing.COMMANDS, *run.COMMANDS, *bench.COMMANDS, *tune.COMMANDS)
