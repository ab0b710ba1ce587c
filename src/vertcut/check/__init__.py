"""Accessibility and delivery compliance of a finished series (``vertcut check``)."""
