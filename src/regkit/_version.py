"""The package version, in a module of its own so that no library module imports the root."""

__version__ = "0.4.0"
