"""The one error class of the ``sensing`` package."""


class SensingError(Exception):
    """Input that processing cannot use (wrong shape or layout, NaN, empty): the message says which."""
