"""vertcut: vertical micro-drama episodes from an edited master.

The library never prints or exits: it raises :class:`VertcutError`
subclasses and reports progress to a sink you pass in. The command line
(``vertcut``) lives in :mod:`vertcut.cli`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import VertcutError
from .media.probe import frame_table, probe

__all__ = ["VertcutError", "__version__", "frame_table", "probe"]
