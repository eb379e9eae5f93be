"""The dataset's errors."""


class ExportError(Exception):
    """An export asked for with arguments that do not fit; the message says what to change."""
