"""Synthetic raw-data generator internals; the public entry point is :mod:`jobs.generate`."""
