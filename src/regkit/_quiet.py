"""Starting TensorFlow without its start-up lines, for processes regkit owns.

TensorFlow prints native log lines when it loads (absl's pre-init notice, oneDNN, CPU
features, "could not find cuda drivers", cuInit on a host without a GPU), which
``TF_CPP_MIN_LOG_LEVEL`` no longer silences. The command line (which owns its process)
and the worker processes of ``compare(jobs=N)`` (which regkit starts) import TensorFlow
through `start_tensorflow_quietly`; the library imported alone changes nothing.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

__all__ = ["NOISE", "start_tensorflow_quietly"]

#: The start-up lines dropped: absl's pre-init notice, native log lines, the CPU note.
NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IWEF]\d{4} [\d:. ]+\d+ \S+:\d+\] "
    r"|To enable the following instructions:"
)


def start_tensorflow_quietly() -> None:
    """Imports TensorFlow and lists its devices with the process' stderr (fd 2) caught,
    then passes on every line that is not start-up noise."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        caught.seek(0)
        for line in caught.read().decode("utf-8", "replace").splitlines():
            if line.strip() and not NOISE.match(line):
                print(line, file=sys.stderr)
