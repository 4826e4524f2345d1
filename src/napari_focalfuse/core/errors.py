"""Exceptions whose message is one clear sentence meant for the user."""


class FocalFuseError(ValueError):
    """Bad input or an impossible request; the message is shown to the user as is."""


class Cancelled(RuntimeError):
    """The caller asked a long computation to stop."""
