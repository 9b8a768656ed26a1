"""Errors a user can act on: the CLI prints their message as one line and exits non-zero."""


class UserError(Exception):
    """A problem with the user's input or settings, explained in one readable sentence."""
