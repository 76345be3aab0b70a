"""The suite's version (semantic versioning: the public API changes only with a bump and a CHANGELOG entry)."""

__version__ = "0.1.0"

__all__ = ["__version__"]
