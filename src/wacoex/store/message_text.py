"""A message's text is stored once: in `text`, not again inside `content`.

For the types whose text is a key of their object (a text's `body`, a media `caption`, a system
notice's `body`: domain.conversation.TEXT_KEYS), `content` is stored without that key when it holds
exactly `text`, and the key is put back when the row is read. What the API shows is unchanged.
"""

from __future__ import annotations

from typing import Any

from wacoex.domain.conversation import TEXT_KEYS


def stored_content(type_: Any, content: Any, text: Any) -> Any:
    """`content` as stored: without the key that repeats `text`."""
    key = TEXT_KEYS.get(type_) if type(type_) is str else None
    if key is None or text is None or type(content) is not dict or content.get(key) != text:
        return content
    return {k: v for k, v in content.items() if k != key}


def read_content(type_: Any, content: Any, text: Any) -> Any:
    """`content` as received: the key that repeats `text` put back."""
    key = TEXT_KEYS.get(type_) if type(type_) is str else None
    if key is None or text is None or type(content) is not dict or key in content:
        return content
    return {**content, key: text}


def stored_row(row: dict[str, Any]) -> dict[str, Any]:
    """A message row (or a change to one naming type, content and text) as stored."""
    if "content" not in row or "type" not in row or "text" not in row:
        return row
    content = stored_content(row["type"], row["content"], row["text"])
    return row if content is row["content"] else {**row, "content": content}
