"""Applying webhook facts to the unified record: one handler per fact type (apply.HANDLERS)."""

from wacoex.services.ingest.apply import Ingest

__all__ = ["Ingest"]
