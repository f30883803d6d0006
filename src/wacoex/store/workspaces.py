"""Workspaces: the numbers and API keys of one tenant. Workspace 1, "default", always exists."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wacoex.errors import Conflict, InvalidInput, NotFound
from wacoex.services.ports import WorkspaceInfo
from wacoex.store.engine import now_ms
from wacoex.store.tables import api_keys, numbers, workspaces

MAX_NAME = 128


def create_workspace(conn: Connection, name: str) -> WorkspaceInfo:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"a workspace name is 1 to {MAX_NAME} characters")
    if name.isdigit():
        # `--workspace W` takes an id or a name: a name of digits would read as an id.
        raise InvalidInput(f"a workspace name cannot be only digits ({name!r} would read as an id)")
    if conn.execute(sa.select(workspaces.c.id).where(workspaces.c.name == name)).first():
        raise Conflict(f"workspace {name!r} already exists")
    try:
        row = conn.execute(
            workspaces.insert().values(name=name, created_at=now_ms()).returning(workspaces.c.id)
        ).one()
    except sa.exc.IntegrityError as exc:  # created at the same moment by another process
        raise Conflict(f"workspace {name!r} already exists") from exc
    return WorkspaceInfo(id=int(row.id), name=name, numbers=0, api_keys=0)


def list_workspaces(conn: Connection) -> list[WorkspaceInfo]:
    """Every workspace with how many numbers and active API keys it has, oldest first."""
    n = sa.select(sa.func.count()).where(numbers.c.workspace_id == workspaces.c.id).scalar_subquery()
    k = (
        sa.select(sa.func.count())
        .where(api_keys.c.workspace_id == workspaces.c.id, api_keys.c.revoked_at.is_(None))
        .scalar_subquery()
    )
    rows = conn.execute(sa.select(workspaces.c.id, workspaces.c.name, n, k).order_by(workspaces.c.id))
    return [WorkspaceInfo(id=int(r[0]), name=r[1], numbers=int(r[2]), api_keys=int(r[3])) for r in rows]


def workspace_id(conn: Connection, ref: str) -> int:
    """The id of a workspace given by id or by name; NotFound names what was asked for."""
    ref = ref.strip()
    w = workspaces.c
    where = w.id == int(ref) if ref.isdigit() else w.name == ref
    row = conn.execute(sa.select(w.id).where(where)).first()
    if row is None:
        raise NotFound(f"no workspace {ref!r} (see `wacoex workspaces list`)")
    return int(row.id)
