"""Heavy imports started in the background are complete when the caller needs them."""

from __future__ import annotations

import subprocess
import sys
import threading

from napari_focalfuse.core import preload as preload_module
from napari_focalfuse.core.preload import ahead_while_loading, preload


def test_a_loaded_module_is_not_loaded_again():
    assert preload("numpy") is None


def test_background_import_finishes_and_a_failure_is_the_callers_to_report():
    code = (
        "import sys\n"
        "from napari_focalfuse.core.preload import preload\n"
        "thread = preload('json', 'no_such_module_focalfuse')\n"
        "import json\n"  # waits for the background import if it is still running
        "json.dumps({})\n"
        "thread.join()\n"
        "print('json' in sys.modules)\n"
        "try:\n"
        "    import no_such_module_focalfuse\n"
        "except ImportError:\n"
        "    print('raised')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["True", "raised"], proc.stderr
    assert "Traceback" not in proc.stderr  # the background thread stays silent


def test_work_is_made_ahead_while_an_import_runs_and_bounded(monkeypatch):
    release = threading.Event()
    import_running = threading.Thread(target=release.wait, daemon=True)
    import_running.start()
    monkeypatch.setattr(preload_module, "_threads", [import_running])
    made: list[int] = []

    def make(z: int) -> int:
        made.append(z)
        return z

    items = ahead_while_loading(map(make, range(10)), limit=4)
    assert made == [0, 1, 2, 3]  # made before anything was asked for, at most ``limit``
    release.set()
    import_running.join()
    assert list(items) == list(range(10)) and made == list(range(10))


def test_nothing_is_made_ahead_once_imports_are_done(monkeypatch):
    monkeypatch.setattr(preload_module, "_threads", [])
    made: list[int] = []
    items = ahead_while_loading(map(made.append, range(3)), limit=4)
    assert made == []
    assert len(list(items)) == 3
