"""Heavy imports started in the background are complete when the caller needs them."""

from __future__ import annotations

import subprocess
import sys

from napari_focalfuse.core.preload import preload


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
