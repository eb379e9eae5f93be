"""Errors of the simulator package."""


class SimulatorError(Exception):
    """Base of the simulator's own errors."""


class BadRequest(SimulatorError):
    """A request the simulator cannot read; answered with a 400 and a short reason."""
