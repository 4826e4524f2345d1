"""``--threads N``: how much of the CPU one run may take, so it can share the machine."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def thread_limit(n: int | None) -> Iterator[None]:
    """At most ``n`` threads for torch's operators, tifffile's decoders and OpenCV; restored after.

    One more thread reads the next slice ahead while the current one is processed (mostly
    waiting on the disk or a single-threaded JPEG decoder). ``None`` changes nothing.
    """
    if n is None:
        yield
        return
    import torch

    from ..io.threads import set_decode_threads

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    decode_before = set_decode_threads(n)
    os.environ["OPENCV_FOR_THREADS_NUM"] = str(n)  # read when OpenCV is first imported
    if "cv2" in sys.modules:
        sys.modules["cv2"].setNumThreads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
        set_decode_threads(decode_before)
