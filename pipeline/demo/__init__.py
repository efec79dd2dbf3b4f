"""The synthetic demo borough."""
