"""svna: the Serious Violence Strategic Needs Assessment pipeline."""

__version__ = "0.1.0"
