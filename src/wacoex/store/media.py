"""Content-addressed media files (sha256) on local disk, and the media state of messages."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wacoex.services.ports import PendingMedia
from wacoex.store.dialect import insert_ignore
from wacoex.store.engine import now_ms
from wacoex.store.numbers import number_ref
from wacoex.store.tables import media_files, messages, numbers
from wacoex.store.token_cipher import TokenCipher


class SqlMediaStore:
    def __init__(
        self,
        engine: Engine,
        root: Path,
        *,
        read_engine: Engine | None = None,
        cipher: TokenCipher | None = None,
    ) -> None:
        self._engine = engine
        self._cipher = cipher  # decrypts the number's token for the download
        self._read_engine = read_engine or engine
        self._root = Path(root)

    def path_for(self, sha256: str) -> Path:
        return self._root / sha256[:2] / sha256[2:4] / sha256

    def pending(self, limit: int, now: int) -> list[PendingMedia]:
        m = messages.c
        q = (
            sa.select(m.id, m.media_id, m.content, m.media_attempts, numbers)
            .join(numbers, numbers.c.id == m.number_id)
            .where(m.media_state == "pending", m.media_next_at <= now)
            .order_by(m.media_next_at, m.id)
            .limit(limit)
        )
        # A read: on SQLite through the read engine, so it never queues for (or holds) the write lock.
        with self._read_engine.connect() as conn:
            rows = conn.execute(q).all()
        out = []
        for r in rows:
            content = r.content if isinstance(r.content, dict) else {}
            out.append(
                PendingMedia(
                    message_id=r[0],
                    media_id=r.media_id,
                    number=number_ref(r, self._cipher),
                    mime_type=content.get("mime_type"),
                    sha256=content.get("sha256"),
                    attempts=r.media_attempts,
                )
            )
        return out

    def save(self, data: bytes, mime_type: str | None) -> str:
        sha = hashlib.sha256(data).hexdigest()
        path = self.path_for(sha)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        with self._engine.begin() as conn:
            # The path is kept relative to the vault root, so the root can move or be mounted elsewhere.
            stmt = insert_ignore(conn, media_files, ["sha256"]).values(
                sha256=sha,
                mime_type=mime_type,
                size=len(data),
                path=str(path.relative_to(self._root)),
                created_at=now_ms(),
            )
            conn.execute(stmt)
        return sha

    def mark(self, message_id: int, state: str, sha256: str | None, error: str | None) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                messages.update()
                .where(messages.c.id == message_id)
                .values(media_state=state, media_sha256=sha256, media_error=error)
            )

    def retry_later(self, message_id: int, error: str, next_at: int) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                messages.update()
                .where(messages.c.id == message_id)
                .values(
                    media_error=error, media_next_at=next_at, media_attempts=messages.c.media_attempts + 1
                )
            )

    def file(self, sha256: str) -> tuple[Path, str | None] | None:
        with self._read_engine.connect() as conn:
            row = conn.execute(sa.select(media_files).where(media_files.c.sha256 == sha256)).first()
        path = self.path_for(sha256)
        if row is None or not path.exists():
            return None
        return path, row.mime_type
