"""Errors a user can act on: the CLI prints their message as one line and exits non-zero."""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """A problem with the user's input or settings, explained in one readable sentence."""


def read_user_text(path: Path, label: str) -> str:
    """The UTF-8 text of a file the user named (``label``, e.g. "taxonomy file x.toml"), or a one-sentence
    ``UserError`` saying why it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"The {label} does not exist.") from None
    except IsADirectoryError:
        raise UserError(f"The {label} is a directory, not a TOML file.") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"The {label} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    except OSError as exc:
        raise UserError(f"Cannot read the {label}: {exc.strerror}.") from None

