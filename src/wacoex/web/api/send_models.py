"""The send API's request body, as the OpenAPI document describes it (and FastAPI checks it).

One model per kind of message, each forbidding keys it does not know, so that a body is exactly one
of them. The domain (domain/outbound.py) checks the same things again for the Graph-compatible proxy,
which takes Cloud API bodies; what these models accept, it accepts.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

Text = Annotated[str, Field(min_length=1, max_length=4096, pattern=r"\S")]
Caption = Annotated[str, Field(max_length=1024)]
Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"\S")]
Link = Annotated[str, Field(max_length=2048, pattern=r"^https?://\S+$")]
Wamid = Annotated[str, Field(min_length=1, max_length=255, pattern=r"\S")]
Scalar = Annotated[str, Field(max_length=1024)] | StrictInt | StrictFloat


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Send(_Strict):
    to: str = Field(
        pattern=r"^(\+?[1-9][0-9]{5,14}|[A-Z]{2}\.([A-Z]+\.)?[A-Za-z0-9]{1,128})$",
        description="the recipient: a phone number in international format (digits, an optional +) or a "
        "business-scoped user id",
        examples=["+4915112345678"],
    )
    reply_to: Wamid | None = Field(None, description="the wamid of a message to quote")
    biz_opaque_callback_data: Annotated[str, Field(min_length=1, max_length=512, pattern=r"\S")] | None = None
    queue: StrictBool = Field(False, description="queue it (202 and an id) instead of sending it now")


class TextBody(_Strict):
    body: Text
    preview_url: StrictBool = False


class SendText(_Send):
    text: Text | TextBody
    preview_url: StrictBool | None = None


class MediaById(_Strict):
    id: Id = Field(description="a media id from POST /api/v1/numbers/{id}/media")
    caption: Caption | None = None
    filename: Annotated[str, Field(max_length=255)] | None = None


class MediaByLink(_Strict):
    link: Link
    caption: Caption | None = None
    filename: Annotated[str, Field(max_length=255)] | None = None


class BareMediaById(_Strict):
    id: Id


class BareMediaByLink(_Strict):
    link: Link


class SendImage(_Send):
    image: MediaById | MediaByLink


class SendVideo(_Send):
    video: MediaById | MediaByLink


class SendDocument(_Send):
    document: MediaById | MediaByLink


class SendAudio(_Send):
    audio: BareMediaById | BareMediaByLink


class SendSticker(_Send):
    sticker: BareMediaById | BareMediaByLink


Name = Annotated[str, Field(min_length=1, max_length=512, pattern=r"\S")]
Language = Annotated[str, Field(min_length=1, max_length=16, pattern=r"\S")]


class LanguageCode(_Strict):
    code: Language
    policy: str | None = None


class TemplateByParameters(_Strict):
    name: Name
    language: Language | LanguageCode
    parameters: list[Scalar] | dict[Annotated[str, Field(min_length=1, max_length=64)], Scalar] | None = (
        Field(
            None,
            description="the body's parameters: a list for {{1}}, {{2}}, ... or a name -> value object for "
            "named ones (header and button parameters go in `components`)",
        )
    )


class Component(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Annotated[str, Field(min_length=1, max_length=32)]
    parameters: list[dict[str, Any]] | None = None


class TemplateByComponents(_Strict):
    name: Name
    language: Language | LanguageCode
    components: list[Component] = Field(description="the Cloud API's template components, as they are")


class SendTemplate(_Send):
    template: TemplateByParameters | TemplateByComponents


class Interactive(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Annotated[str, Field(min_length=1, max_length=32)]


class SendInteractive(_Send):
    interactive: Interactive


class Reaction(_Strict):
    message_id: Wamid
    emoji: Annotated[str, Field(max_length=32)]


class SendReaction(_Send):
    reaction: Reaction


class Location(_Strict):
    latitude: StrictFloat | StrictInt
    longitude: StrictFloat | StrictInt
    name: Annotated[str, Field(max_length=1024)] | None = None
    address: Annotated[str, Field(max_length=1024)] | None = None


class SendLocation(_Send):
    location: Location


class SendContacts(_Send):
    contacts: list[dict[str, Any]] = Field(
        min_length=1, description="contact cards as the Cloud API takes them"
    )


SendRequest = (
    SendText
    | SendImage
    | SendVideo
    | SendDocument
    | SendAudio
    | SendSticker
    | SendTemplate
    | SendInteractive
    | SendReaction
    | SendLocation
    | SendContacts
)
