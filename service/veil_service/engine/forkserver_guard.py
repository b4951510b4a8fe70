"""Imported by the engine's forkserver only (first of ``worker.PRELOAD``): it dies with the engine.

multiprocessing gives no hook into the forkserver's start, but it imports the preload modules
there; importing this module is that hook (see ``engine.parent_death``).
"""

from __future__ import annotations

from veil_service.engine.parent_death import die_with_parent

die_with_parent()
