"""Imported by the engine's forkserver (``worker.PRELOAD``): skops ready in every worker.

Every diffprivlib query runs in a freshly forked worker and returns its model as skops bytes;
importing skops there cost 0.6 CPU s a query even without torch (:mod:`.skops_import`), most of a
dummy query's 0.73 s. Imported once in the forkserver, it is inherited by every worker.
"""

from __future__ import annotations

from veil_service.engine.dp.skops_import import skops_io

skops_io()
