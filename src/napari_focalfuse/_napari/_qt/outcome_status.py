"""How a widget reports a job that was cancelled or failed: its status line and a notification."""

from __future__ import annotations

from typing import Any

from ..jobs import Outcome


def show_problem(outcome: Outcome, status: Any, cancelled: str) -> bool:
    """Report a cancelled (``cancelled`` as the notification) or failed outcome on ``status``
    (a Label) and as a notification; True when there was one, so the caller shows no result."""
    from napari.utils.notifications import show_error, show_info

    if outcome.cancelled:
        status.value = "Cancelled."
        show_info(cancelled)
        return True
    if outcome.error:
        status.value = "Failed."
        show_error(outcome.error)
        return True
    return False
