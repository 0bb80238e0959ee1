"""The one error class of the ``fusion`` package."""


class FusionError(Exception):
    """A model, checkpoint, dataset or training setting that cannot be used: the message says why."""
