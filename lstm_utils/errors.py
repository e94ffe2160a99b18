"""Errors meant for people: each names where the problem is and what to change.

The command line prints them as one message and exits with status 2 (no traceback).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(eq=False)
class LstmUtilsError(Exception):
    """Base class: a problem the user can fix, with where it is and what to do."""

    message: str
    hint: str = ""

    def __str__(self) -> str:
        return f"{self.message}\n  -> {self.hint}" if self.hint else self.message


@dataclass(eq=False)
class ParamsError(LstmUtilsError):
    """A key of params.yaml is missing, unknown, of the wrong type or impossible."""

    key: str = ""


@dataclass(eq=False)
class DataError(LstmUtilsError):
    """An input CSV cannot be used as it is: names the file, and the row or column."""

    file: str = ""
    row: int | None = None
    column: str | None = None
    series: str | None = None  # when the data holds several series


@dataclass(eq=False)
class ModelError(LstmUtilsError):
    """A saved model is missing, unreadable or does not fit the data given to it."""

    path: str = ""


@dataclass(eq=False)
class WriteError(LstmUtilsError):
    """A file could not be written (a full disk, a read-only folder); the previous one is kept."""

    path: str = ""


@dataclass(eq=False)
class StageError(LstmUtilsError):
    """A stage's notebook stopped on an error that is not the data's or the params' (a bug, or the
    system); the executed notebook it names holds the full traceback."""

    stage: str = ""
