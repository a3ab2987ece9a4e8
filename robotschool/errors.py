"""User-facing errors.

Everything a user can get wrong (a name, a YAML value, a path) raises a `RobotschoolError` whose message is
one line saying what is wrong and how to fix it. The CLI prints that line and exits with status 2; it never
shows a traceback for them. Bugs still raise ordinary exceptions.
"""
from __future__ import annotations


class RobotschoolError(Exception):
    """An error caused by the user's input, with a one-line, actionable message."""


class ConfigError(RobotschoolError):
    """A YAML file or `--set` override is malformed: names the file and the dotted key."""


class UnknownNameError(RobotschoolError):
    """A scene, robot or device name is not registered: lists the valid names."""


class OutputPathError(RobotschoolError):
    """An output path cannot be written (exists without --overwrite, or not writable)."""


class DatasetError(RobotschoolError):
    """A dataset file is missing, unreadable or does not follow the schema."""
