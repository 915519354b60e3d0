"""Helpers for labrun's tests: images, fixtures and sample data. Not shipped with labrun."""
