"""vantagepoint: a programmable network measurement testbed."""

__version__ = "0.1.0"
