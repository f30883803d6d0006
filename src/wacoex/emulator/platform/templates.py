"""Message templates: placeholders and ``parameter_format``, creation, their JSON, and checking the
parameters of a template send (the Graph routes are in graph_templates.py).

``POSITIONAL`` templates number their placeholders ``{{1}}``, ``{{2}}``…; ``NAMED`` ones name them
``{{first_name}}`` (lowercase letters, digits, underscores) and a send gives each body/header
parameter a ``parameter_name``.
"""

from __future__ import annotations

import re
from typing import Any

from wacoex.emulator.platform.rules import GraphError, invalid_parameter
from wacoex.emulator.world import Number, Template, World

PARAMETER_FORMATS = ("POSITIONAL", "NAMED")
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
_PLACEHOLDER = re.compile(r"\{\{\s*([^}]+?)\s*\}\}")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class TemplateError(ValueError):
    """A template definition Meta would refuse."""


def placeholders(text: str) -> list[str]:
    """The distinct placeholders of a component's text, in order of first use."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(text)))


def _text_components(components: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """(``body``/``header``, its placeholders) for each component that takes text parameters."""
    found = []
    for component in components:
        kind = str(component.get("type", "")).lower()
        if kind in ("body", "header") and str(component.get("format", "TEXT")).upper() == "TEXT":
            found.append((kind, placeholders(str(component.get("text", "")))))
    return found


def parameter_format_of(components: list[dict[str, Any]], given: str | None) -> str:
    """``given`` (checked against the placeholders), or what the placeholders imply."""
    names = [name for _, found in _text_components(components) for name in found]
    named = any(not name.isdigit() for name in names)
    fmt = (given or ("NAMED" if named else "POSITIONAL")).upper()
    if fmt not in PARAMETER_FORMATS:
        raise TemplateError("parameter_format must be POSITIONAL or NAMED.")
    for kind, found in _text_components(components):
        if fmt == "POSITIONAL" and found != [str(i) for i in range(1, len(found) + 1)]:
            raise TemplateError(
                f"{kind}: POSITIONAL placeholders must be {{{{1}}}}, {{{{2}}}}, ... in order."
            )
        if fmt == "NAMED" and not all(_NAME.match(name) for name in found):
            raise TemplateError(
                f"{kind}: NAMED placeholders must be lowercase letters, digits and underscores."
            )
    return fmt


def new_template(
    world: World,
    waba_id: str,
    name: str,
    language: str,
    category: str,
    *,
    components: list[dict[str, Any]] | None = None,
    status: str = "APPROVED",
    parameter_format: str | None = None,
) -> Template:
    """Validate and store a template (``parameter_format`` inferred from the placeholders when None)."""
    category = category.upper()
    if category not in CATEGORIES:
        raise TemplateError("category must be MARKETING, UTILITY or AUTHENTICATION.")
    components = list(components or [])
    fmt = parameter_format_of(components, parameter_format)
    return world.add_template(
        waba_id,
        name,
        language,
        category,
        status=status.upper(),
        components=components,
        parameter_format=fmt,
    )


def template_json(t: Template) -> dict[str, Any]:
    return {
        "name": t.name,
        "language": t.language,
        "status": t.status,
        "category": t.category,
        "parameter_format": t.parameter_format,
        "components": t.components,
        "id": t.id,
    }


# -- sending ------------------------------------------------------------------------------------
def _format_mismatch(details: str) -> GraphError:
    return GraphError(132012, "Parameter format does not match format in the created template", details)


def check_send(world: World, number: Number, template_body: dict[str, Any]) -> Template:
    """The template must exist in that language and be APPROVED (132001); its body/header parameters
    must match the placeholders in number (132000) and, for NAMED templates, in name (132012)."""
    name = template_body.get("name")
    language = template_body.get("language")
    code = language.get("code") if isinstance(language, dict) else language
    if not isinstance(name, str) or not isinstance(code, str):
        raise invalid_parameter(
            "The parameters template['name'] and template['language']['code'] are required."
        )
    template = world.templates.get((number.waba_id, name, code))
    if template is None or template.status != "APPROVED":
        state = "does not exist" if template is None else f"is {template.status}, not APPROVED"
        raise GraphError(
            132001,
            "Template name does not exist in the translation",
            f"template name ({name}) {state} in {code}",
        )
    sent: dict[str, list[dict[str, Any]]] = {}
    for component in template_body.get("components") or []:
        if isinstance(component, dict):
            kind = str(component.get("type", "")).lower()
            params = [p for p in component.get("parameters") or [] if isinstance(p, dict)]
            sent.setdefault(kind, []).extend(params)
    for kind, expected in _text_components(template.components):
        given = sent.get(kind, [])
        if len(given) != len(expected):
            raise GraphError(
                132000,
                "Number of parameters does not match the expected number of params",
                f"{kind}: number of localizable_params ({len(given)}) does not match the expected "
                f"number of params ({len(expected)})",
            )
        if template.parameter_format == "NAMED":
            names = [p.get("parameter_name") for p in given]
            if None in names:
                raise _format_mismatch(f"{kind}: every parameter of a NAMED template needs a parameter_name")
            if sorted(str(n) for n in names) != sorted(expected):
                raise _format_mismatch(
                    f"{kind}: parameter names ({', '.join(map(str, names))}) do not match the template's "
                    f"({', '.join(expected)})"
                )
    return template
