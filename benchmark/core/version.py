"""The suite's version (semantic versioning: the public API changes only with a bump and a CHANGELOG entry)."""

__version__ = "1.0.0"

__all__ = ["__version__"]
