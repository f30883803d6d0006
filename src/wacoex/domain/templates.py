"""Message templates as synced from the provider, and whether a send may use one.

A template is known by (WABA, name, language). Only an APPROVED one can be sent; its body and text
header name their parameters positionally (`{{1}}`) or by name (`{{first_name}}`, when the template's
`parameter_format` is NAMED); a media header needs a media parameter; a URL button with a
placeholder needs its suffix. A send that does not fit is refused with the code Meta would answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wacoex.domain.outbound import TemplateUse, placeholders, render
from wacoex.errors import Refused

MEDIA_FORMATS = ("IMAGE", "VIDEO", "DOCUMENT")

# Meta's answers for a template it cannot send (Graph error codes).
NOT_FOUND = 132001
PARAMETER_COUNT = 132000
PARAMETER_FORMAT = 132012
PAUSED = 132015
DISABLED = 132016


@dataclass(frozen=True, slots=True)
class Template:
    waba_id: str
    name: str
    language: str
    status: str
    category: str | None
    parameter_format: str | None  # POSITIONAL (default) or NAMED
    components: list[Mapping[str, Any]]

    @property
    def named(self) -> bool:
        return (self.parameter_format or "POSITIONAL").upper() == "NAMED"

    def component(self, kind: str) -> Mapping[str, Any] | None:
        for comp in self.components:
            if str(comp.get("type", "")).upper() == kind.upper():
                return comp
        return None

    def body_text(self, use: TemplateUse) -> str | None:
        """The template's body with the send's parameters filled in (what the customer reads)."""
        body = self.component("BODY")
        return render(body.get("text") if body else None, list(use.parameters.get("body", [])))


def check_template(template: Template | None, use: TemplateUse) -> Template:
    """The template a send may use, or Refused saying why not (with Meta's error code)."""
    if template is None:
        raise Refused(
            f"template {use.name!r} in {use.language} is not known for this number's WhatsApp Business "
            "account; create it (or add the language) in WhatsApp Manager, then sync templates",
            code="template_unknown",
            graph_code=NOT_FOUND,
        )
    status = template.status.upper()
    if status != "APPROVED":
        graph_code = {"PAUSED": PAUSED, "DISABLED": DISABLED}.get(status, NOT_FOUND)
        raise Refused(
            f"template {use.name!r} in {use.language} is {status.lower()}, not approved: it cannot be sent",
            code="template_not_approved",
            graph_code=graph_code,
        )
    _check_text_part(template, use, "body")
    _check_header(template, use)
    _check_buttons(template, use)
    return template


def _names(params: list[Mapping[str, Any]]) -> list[str]:
    return [str(p.get("parameter_name")) for p in params if p.get("parameter_name")]


def _check_text_part(template: Template, use: TemplateUse, part: str) -> None:
    comp = template.component(part)
    text = comp.get("text") if comp and str(comp.get("format", "TEXT")).upper() == "TEXT" else None
    wanted = placeholders(text if isinstance(text, str) else None)
    given = list(use.parameters.get(part, []))
    if template.named and wanted:
        names = _names(given)
        if len(names) != len(given):
            raise Refused(
                f"template {use.name!r} takes named parameters: give each {part} parameter a "
                "`parameter_name`",
                code="template_parameter_format",
                graph_code=PARAMETER_FORMAT,
            )
        missing = [n for n in wanted if n not in names]
        extra = [n for n in names if n not in wanted]
        if missing or extra:
            raise Refused(
                f"template {use.name!r} {part}: missing {missing or 'none'}, unexpected {extra or 'none'}",
                code="template_parameters",
                graph_code=PARAMETER_COUNT,
            )
        return
    if len(given) != len(wanted):
        raise Refused(
            f"template {use.name!r} {part} takes {len(wanted)} parameter(s), {len(given)} given",
            code="template_parameters",
            graph_code=PARAMETER_COUNT,
        )
    for p in given:
        if p.get("type", "text") == "text" and not str(p.get("text", "")).strip():
            raise Refused(
                f"template {use.name!r} {part}: a text parameter is empty",
                code="template_parameters",
                graph_code=PARAMETER_COUNT,
            )


def _check_header(template: Template, use: TemplateUse) -> None:
    header = template.component("HEADER")
    if header is None:
        if use.parameters.get("header"):
            raise Refused(
                f"template {use.name!r} has no header, but header parameters were given",
                code="template_parameters",
                graph_code=PARAMETER_COUNT,
            )
        return
    fmt = str(header.get("format", "TEXT")).upper()
    if fmt in MEDIA_FORMATS:
        given = use.parameters.get("header", [])
        kind = fmt.lower()
        if len(given) != 1 or given[0].get("type") != kind or not isinstance(given[0].get(kind), Mapping):
            raise Refused(
                f"template {use.name!r} has a {kind} header: give one header parameter "
                f'{{"type": "{kind}", "{kind}": {{"link" or "id": ...}}}}',
                code="template_parameters",
                graph_code=PARAMETER_COUNT,
            )
        return
    _check_text_part(template, use, "header")


def _check_buttons(template: Template, use: TemplateUse) -> None:
    comp = template.component("BUTTONS")
    buttons = comp.get("buttons", []) if comp else []
    for index, button in enumerate(buttons if isinstance(buttons, list) else []):
        if not isinstance(button, Mapping):
            continue
        dynamic = str(button.get("type", "")).upper() == "URL" and placeholders(str(button.get("url", "")))
        given = use.parameters.get(f"button:{index}", [])
        if dynamic and not given:
            raise Refused(
                f"template {use.name!r} button {index} has a dynamic URL: give its suffix as a parameter",
                code="template_parameters",
                graph_code=PARAMETER_COUNT,
            )
