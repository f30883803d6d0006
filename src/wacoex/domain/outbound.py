"""An outbound message: our send API's JSON or a Cloud API body, checked and turned into what is POSTed.

Two doors lead here. Our REST API takes a friendlier JSON (`{"to": ..., "text": "hi"}`, template
`parameters` as a list or a name → value map, `reply_to`); the Graph-compatible proxy takes the
Cloud API body exactly as a client would POST it to Meta. Both become one `Outbound`: the Cloud API
body to send, plus what the policy and the record need to know about it (the type, whether it is
free-form, the template and its parameters, the text a person reads).

Checks here are the ones Meta would answer with a 100/131008/131009 (a missing `to`, an empty text,
media without id or link): refusing them here costs nothing and saves a round trip.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wacoex.domain.ids import digits, is_bsuid
from wacoex.errors import InvalidInput

MEDIA = ("image", "video", "audio", "document", "sticker")
TYPES = ("text", *MEDIA, "template", "interactive", "reaction", "location", "contacts")
TEXT_MAX = 4096
CAPTION_MAX = 1024

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


@dataclass(frozen=True, slots=True)
class TemplateUse:
    """A template as a send names it, and the parameters it gives per component."""

    name: str
    language: str
    # component ("header", "body", "button:<index>") -> the parameters given, in order
    parameters: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outbound:
    to: str
    type: str
    body: dict[str, Any]  # the Cloud API body to POST
    content: Any  # the object under `type`, as the record keeps it
    text: str | None  # what a person reads: the text, a caption, a rendered template body
    reply_to: str | None = None
    template: TemplateUse | None = None

    @property
    def free_form(self) -> bool:
        """Everything but a template needs an open customer service window."""
        return self.type != "template"

    @property
    def reaction(self) -> bool:
        return self.type == "reaction"


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where} must be an object")
    return dict(value)


def _string(value: Any, where: str, *, max_len: int | None = None, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput(f"{where} must be a non-empty string")
    if max_len is not None and len(value) > max_len:
        raise InvalidInput(f"{where} is longer than {max_len} characters")
    return value


def recipient(to: Any) -> str:
    """The `to` of a send: a phone number in international format (a `+`, spaces and dashes allowed)
    or a business-scoped user id."""
    value = _string(to, "to")
    assert value is not None
    if is_bsuid(value.strip()):
        return value.strip()
    number = digits(value)
    if not 6 <= len(number) <= 15 or re.search(r"[^\d\s()+.-]", value):
        raise InvalidInput("to must be a phone number in international format, like +4915112345678")
    return number


def _check_content(kind: str, content: dict[str, Any]) -> str | None:
    """Check the object under `kind`; the text a person reads in it."""
    if kind == "text":
        return _string(content.get("body"), "text.body", max_len=TEXT_MAX)
    if kind in MEDIA:
        if not content.get("id") and not content.get("link"):
            raise InvalidInput(f"{kind} needs an `id` (an uploaded media id) or a `link` (an https URL)")
        if content.get("id") and content.get("link"):
            raise InvalidInput(f"{kind} takes an `id` or a `link`, not both")
        link = content.get("link")
        if link is not None and (not isinstance(link, str) or not link.startswith(("https://", "http://"))):
            raise InvalidInput(f"{kind}.link must be an http(s) URL")
        caption = content.get("caption")
        if caption is not None and kind in ("audio", "sticker"):
            raise InvalidInput(f"{kind} takes no caption")
        return _string(caption, f"{kind}.caption", max_len=CAPTION_MAX, required=False)
    if kind == "reaction":
        _string(content.get("message_id"), "reaction.message_id")
        if not isinstance(content.get("emoji"), str):
            raise InvalidInput("reaction.emoji must be a string (empty removes the reaction)")
        return None
    if kind == "location":
        for key in ("latitude", "longitude"):
            if not isinstance(content.get(key), (int, float, str)):
                raise InvalidInput(f"location.{key} is required")
        return content.get("name") if isinstance(content.get("name"), str) else None
    if kind == "interactive":
        if not isinstance(content.get("type"), str):
            raise InvalidInput("interactive.type is required (button, list, cta_url, flow, ...)")
        body = content.get("body")
        return body.get("text") if isinstance(body, Mapping) and isinstance(body.get("text"), str) else None
    return None


def _template_use(content: dict[str, Any]) -> TemplateUse:
    name = _string(content.get("name"), "template.name", max_len=512)
    language = content.get("language")
    code = language.get("code") if isinstance(language, Mapping) else language
    code = _string(code, "template.language.code", max_len=16)
    assert name is not None
    assert code is not None
    given: dict[str, list[Mapping[str, Any]]] = {}
    components = content.get("components") or []
    if not isinstance(components, list):
        raise InvalidInput("template.components must be a list")
    for i, comp in enumerate(components):
        comp = _object(comp, f"template.components[{i}]")
        kind = str(comp.get("type", "")).lower()
        if kind == "button":
            kind = f"button:{comp.get('index', 0)}"
        params = comp.get("parameters") or []
        if not isinstance(params, list) or not all(isinstance(p, Mapping) for p in params):
            raise InvalidInput(f"template.components[{i}].parameters must be a list of objects")
        given.setdefault(kind, []).extend(params)
    return TemplateUse(name, code, given)


def _text_parameter(value: Any, name: str | None = None) -> dict[str, Any]:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise InvalidInput("template parameters must be strings or numbers")
    param: dict[str, Any] = {"type": "text", "text": str(value)}
    if name is not None:
        param["parameter_name"] = name
    return param


def _shorthand_components(parameters: Any) -> list[dict[str, Any]]:
    """Our API's `parameters`: a list (positional body), a map (named body), or per component."""
    if isinstance(parameters, list):
        return [{"type": "body", "parameters": [_text_parameter(v) for v in parameters]}]
    if not isinstance(parameters, Mapping):
        raise InvalidInput("template.parameters must be a list, or an object")
    if set(parameters) <= {"header", "body", "buttons"} and parameters:
        components: list[dict[str, Any]] = []
        for part in ("header", "body"):
            if part in parameters:
                components.extend(_shorthand_components(parameters[part]))
                components[-1]["type"] = part
        for index, value in enumerate(parameters.get("buttons") or []):
            components.append(
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": str(index),
                    "parameters": [_text_parameter(value)],
                }
            )
        return components
    return [{"type": "body", "parameters": [_text_parameter(v, str(k)) for k, v in parameters.items()]}]


def from_api(payload: Any) -> Outbound:
    """Our send API's JSON: `to`, one message key (`text`, `image`, ..., `template`), `reply_to`."""
    data = _object(payload, "the request body")
    to = recipient(data.get("to"))
    kinds = [k for k in TYPES if k in data]
    if len(kinds) != 1:
        raise InvalidInput(f"give exactly one of {', '.join(TYPES)} (got {', '.join(kinds) or 'none'})")
    kind = kinds[0]
    content: Any = data[kind]
    if kind == "text" and isinstance(content, str):
        content = {"body": content}
        if data.get("preview_url") is not None:
            content["preview_url"] = bool(data["preview_url"])
    if kind == "contacts":
        if not isinstance(content, list) or not content:
            raise InvalidInput("contacts must be a non-empty list of contact cards")
    else:
        content = _object(content, kind)
    if kind == "template":
        if "parameters" in content:
            if content.get("components"):
                raise InvalidInput("template takes `parameters` or `components`, not both")
            content["components"] = _shorthand_components(content.pop("parameters"))
        if isinstance(content.get("language"), str):
            content["language"] = {"code": content["language"], "policy": "deterministic"}
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
    }
    body[kind] = content
    reply_to = data.get("reply_to")
    if reply_to is not None:
        body["context"] = {"message_id": _string(reply_to, "reply_to", max_len=255)}
    if data.get("biz_opaque_callback_data") is not None:
        body["biz_opaque_callback_data"] = _string(
            data["biz_opaque_callback_data"], "biz_opaque_callback_data", max_len=512
        )
    return from_graph(body)


def from_graph(payload: Any) -> Outbound:
    """A Cloud API message body, as a client POSTs it to `/{phone_number_id}/messages`."""
    body = _object(payload, "the request body")
    if body.get("messaging_product") != "whatsapp":
        raise InvalidInput('messaging_product must be "whatsapp"')
    to = recipient(body.get("to"))
    kind = body.get("type", "text")
    if kind not in TYPES:
        raise InvalidInput(f"type must be one of {', '.join(TYPES)}")
    if kind not in body:
        raise InvalidInput(f"a {kind} message needs a `{kind}` object")
    content = body[kind]
    if kind == "contacts":
        if not isinstance(content, list) or not content:
            raise InvalidInput("contacts must be a non-empty list of contact cards")
        text = None
    else:
        content = _object(content, kind)
        text = _check_content(kind, content)
    template = _template_use(content) if kind == "template" else None
    context = body.get("context")
    reply_to = context.get("message_id") if isinstance(context, Mapping) else None
    out = dict(body)
    out["to"] = to
    out["type"] = kind
    return Outbound(
        to=to,
        type=kind,
        body=out,
        content=content,
        text=text,
        reply_to=reply_to if isinstance(reply_to, str) else None,
        template=template,
    )


def placeholders(text: str | None) -> list[str]:
    """The `{{1}}` / `{{first_name}}` placeholders of a template text, in order, without repeats."""
    seen: dict[str, None] = {}
    for name in _PLACEHOLDER.findall(text or ""):
        seen.setdefault(name, None)
    return list(seen)


def render(text: str | None, parameters: list[Mapping[str, Any]]) -> str | None:
    """A template text with its parameters filled in (positional or named), for the record."""
    if text is None:
        return None
    named = {str(p.get("parameter_name")): p for p in parameters if p.get("parameter_name")}

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        param = named.get(key)
        if param is None and key.isdigit() and 0 < int(key) <= len(parameters):
            param = parameters[int(key) - 1]
        if param is None:
            return match.group(0)
        return str(param.get("text") or param.get(param.get("type", "")) or match.group(0))

    return _PLACEHOLDER.sub(value, text)
