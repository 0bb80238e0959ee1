"""The one error class of the ``drivers`` package."""

from __future__ import annotations


class DriversError(Exception):
    """Bad input to a driver, config, recording or source: the message says what and how to fix it."""


class ConfigError(DriversError, ValueError):
    """A configuration file or value is invalid; the message names the file, key and reason."""
