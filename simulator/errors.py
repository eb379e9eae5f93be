"""Errors of the simulator package."""


class SimulatorError(Exception):
    """Base of the simulator's own errors."""


class BadRequest(SimulatorError):
    """A request the simulator cannot read; answered with a 400 and a short reason."""


class ConfigError(SimulatorError, ValueError):
    """A configuration value the simulator cannot use; raised when the app is built."""
