"""Errors of the hotline package."""


class HotlineError(Exception):
    """Base of the service's own errors."""


class ConfigError(HotlineError):
    """The environment does not describe a runnable service."""


class BadRequest(HotlineError):
    """A callback we cannot read; answered with a 400 and a short reason."""


class InvalidPhoneNumber(HotlineError):
    """A phone number that is not a valid number."""
