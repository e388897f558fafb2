"""The package's own exceptions: each carries a short message a person can read."""


class ClassifierError(Exception):
    """Base class: anything the package refuses on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ImageError(ClassifierError):
    """The input is not an image we can analyse (empty, corrupt, too large...)."""


class ModelError(ClassifierError):
    """The shipped model is missing, corrupt or does not match its card."""
