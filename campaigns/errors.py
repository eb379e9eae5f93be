"""Errors of the campaigns package."""

from hotline.core.errors import HotlineError


class CampaignError(HotlineError):
    """A campaign request that cannot be done as asked; the message says why, for the manager."""
