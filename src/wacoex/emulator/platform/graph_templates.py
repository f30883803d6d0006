"""Graph ``GET``/``POST /{version}/{waba_id}/message_templates``.

The list filters by ``name``, ``status``, ``language``, ``category`` and ``parameter_format`` and pages
like Graph: ``limit`` (25 by default), opaque ``after``/``before`` cursors in ``paging.cursors``, and
``paging.next``/``paging.previous`` URLs on the emulator while there are more.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from fastapi import APIRouter, Request

from wacoex.emulator.platform.graph_api import json_body, runtime_of, waba_for
from wacoex.emulator.platform.rules import GraphError, invalid_parameter
from wacoex.emulator.platform.templates import TemplateError, new_template, template_json
from wacoex.emulator.world import Template

router = APIRouter(include_in_schema=False)
DEFAULT_PAGE_SIZE = 25


def _cursor(template: Template) -> str:
    return base64.urlsafe_b64encode(template.id.encode()).decode().rstrip("=")


def _position(items: list[Template], cursor: str) -> int:
    for index, template in enumerate(items):
        if _cursor(template) == cursor:
            return index
    raise invalid_parameter(f"Invalid cursor {cursor!r}.")


@router.get("/{version}/{node}/message_templates")
async def list_templates(request: Request, version: str, node: str) -> dict[str, Any]:
    world, waba = waba_for(request, version, node)
    q = request.query_params
    items = [
        t
        for t in world.templates.values()
        if t.waba_id == waba.id
        and q.get("name") in (None, t.name)
        and q.get("status") in (None, t.status)
        and q.get("language") in (None, t.language)
        and (q.get("category") is None or q["category"].upper() == t.category)
        and (q.get("parameter_format") is None or q["parameter_format"].upper() == t.parameter_format)
    ]
    raw_limit = q.get("limit", str(DEFAULT_PAGE_SIZE))
    if not raw_limit.isdigit() or int(raw_limit) < 1:
        raise invalid_parameter("The parameter limit must be a positive integer.")
    limit = int(raw_limit)
    if q.get("after"):
        start = _position(items, q["after"]) + 1
    elif q.get("before"):
        start = max(0, _position(items, q["before"]) - limit)
    else:
        start = 0
    page = items[start : start + limit]
    if not page:
        return {"data": [], "paging": {"cursors": {"before": "", "after": ""}}}
    paging: dict[str, Any] = {"cursors": {"before": _cursor(page[0]), "after": _cursor(page[-1])}}
    url = request.url.remove_query_params(["after", "before"])
    if start + limit < len(items):
        paging["next"] = str(url.include_query_params(limit=limit, after=_cursor(page[-1])))
    if start > 0:
        paging["previous"] = str(url.include_query_params(limit=limit, before=_cursor(page[0])))
    return {"data": [template_json(t) for t in page], "paging": paging}


@router.post("/{version}/{node}/message_templates")
async def create_template(request: Request, version: str, node: str) -> dict[str, Any]:
    world, waba = waba_for(request, version, node, "post")
    runtime = runtime_of(request)
    body = await json_body(request)
    name, language = body.get("name"), body.get("language")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,512}", name):
        raise invalid_parameter("name must be lowercase letters, digits and underscores.")
    if not isinstance(language, str) or not language:
        raise invalid_parameter("The parameter language is required.")
    if (waba.id, name, language) in world.templates:
        raise GraphError(
            100, "Invalid parameter", "Content in this language already exists.", subcode=2388024
        )
    components = body.get("components") if isinstance(body.get("components"), list) else []
    review = world.config.template_review_seconds
    try:
        template = new_template(
            world,
            waba.id,
            name,
            language,
            str(body.get("category", "")),
            components=components,
            status="PENDING" if review > 0 else "APPROVED",
            parameter_format=str(body.get("parameter_format") or "POSITIONAL"),
        )
    except TemplateError as exc:
        raise invalid_parameter(str(exc)) from exc
    if review > 0:

        def approve() -> None:
            template.status = "APPROVED"
            runtime.dispatcher.emit_waba(
                waba.id,
                "message_template_status_update",
                {
                    "event": "APPROVED",
                    "message_template_id": int(template.id),
                    "message_template_name": name,
                    "message_template_language": language,
                    "reason": "NONE",
                },
            )

        world.clock.call_later(review, approve)
    return {"id": template.id, "status": template.status, "category": template.category}
