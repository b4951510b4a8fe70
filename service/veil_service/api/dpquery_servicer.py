"""DPQueryService servicer: decode, check the caller, call the dpquery domain, encode."""

from __future__ import annotations

from veil_service.context import AppContext


class DPQueryServicer:
    """See dpquery.proto."""

    def __init__(self, app: AppContext) -> None:
        self.app = app
