"""Measured experiments that did not (yet) make it into the default recipe."""
