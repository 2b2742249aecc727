"""Pipeline stages: plain typed functions first, thin Prefect task wrappers last in each module.

Importing the package installs one hook: TensorFlow's native start-up lines (oneDNN notes, CUDA probes,
"All log messages before absl::InitializeLog()") are written by C++ straight to file descriptor 2 before any
setting can stop them (TF_CPP_MIN_LOG_LEVEL no longer does, TensorFlow 2.19+). They bury a run's own log and mean
nothing on a CPU machine, so TensorFlow is imported, and its devices listed, with that descriptor pointed at
/dev/null. Python exceptions still propagate; set TF_CPP_MIN_LOG_LEVEL=0 (or 1) to see the lines again.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import sys


@contextlib.contextmanager
def native_stderr_silenced():
    """File descriptor 2 to /dev/null for the duration (what C++ libraries write to), restored after."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _QuietTensorFlow(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` as usual, then runs its import and first device listing with native stderr silenced.
    Lines other threads write in those seconds are lost too: the import comes before training, when little else
    runs."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once: find the real spec without coming back here
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def quiet_exec(module):
            with native_stderr_silenced():
                exec_module(module)
                module.config.list_physical_devices()  # device start-up: the CUDA probe's lines come here

        spec.loader.exec_module = quiet_exec
        return spec


if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2") not in ("0", "1") and "tensorflow" not in sys.modules \
        and not any(isinstance(f, _QuietTensorFlow) for f in sys.meta_path):
    sys.meta_path.insert(0, _QuietTensorFlow())
