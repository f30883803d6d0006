"""Message templates synced from the provider (TemplateStore)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, Row

from wacoex.domain.templates import Template
from wacoex.store.tables import templates


def _template(row: Row[Any]) -> Template:
    return Template(
        waba_id=row.waba_id,
        name=row.name,
        language=row.language,
        status=row.status,
        category=row.category,
        parameter_format=row.parameter_format,
        components=list(row.components or []),
    )


class SqlTemplateStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, waba_id: str, name: str, language: str) -> Template | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(templates).where(
                    templates.c.waba_id == waba_id, templates.c.name == name, templates.c.language == language
                )
            ).first()
        return _template(row) if row is not None else None

    def replace(self, waba_id: str, items: list[Template], at: int) -> int:
        unique = {(t.name, t.language): t for t in items}
        with self._engine.begin() as conn:
            conn.execute(templates.delete().where(templates.c.waba_id == waba_id))
            if unique:
                conn.execute(
                    templates.insert(),
                    [
                        dict(
                            waba_id=waba_id,
                            name=t.name,
                            language=t.language,
                            status=t.status,
                            category=t.category,
                            parameter_format=t.parameter_format,
                            components=list(t.components),
                            synced_at=at,
                        )
                        for t in unique.values()
                    ],
                )
        return len(unique)

    def list(self, waba_id: str) -> list[Template]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(templates)
                .where(templates.c.waba_id == waba_id)
                .order_by(templates.c.name, templates.c.language)
            ).all()
        return [_template(r) for r in rows]

    def synced_at(self, waba_id: str) -> int | None:
        with self._engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.max(templates.c.synced_at)).where(templates.c.waba_id == waba_id)
            ).scalar()
