"""The pure rules of sending: the window, takeover, outbound bodies and templates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wacoex.domain.outbound import from_api, from_graph, placeholders, render
from wacoex.domain.takeover import Handler, TakeoverCause, TakeoverTimes, release_mark, takeover_of
from wacoex.domain.templates import Template, check_template
from wacoex.domain.window import (
    FREE_ENTRY_POINT_MS,
    WINDOW_MS,
    WindowReason,
    free_entry_point_opens,
    window_of,
)
from wacoex.errors import InvalidInput, Refused

H = 3600 * 1000
T0 = 1_800_000_000_000
TTL = 30 * 60 * 1000


# -- the window ---------------------------------------------------------------------------------


def test_a_customer_message_opens_the_window_for_24_hours() -> None:
    w = window_of(last_customer_at=T0, window_closed_at=None, fep_expires_at=None, now=T0 + 23 * H)
    assert (w.open, w.expires_at, w.reason) == (True, T0 + WINDOW_MS, WindowReason.CUSTOMER_MESSAGE)
    w = window_of(last_customer_at=T0, window_closed_at=None, fep_expires_at=None, now=T0 + WINDOW_MS)
    assert (w.open, w.reason) == (False, WindowReason.EXPIRED)


def test_no_customer_message_since_onboarding_means_never_opened() -> None:
    w = window_of(last_customer_at=None, window_closed_at=None, fep_expires_at=None, now=T0)
    assert (w.open, w.expires_at, w.reason) == (False, None, WindowReason.NEVER_OPENED)


def test_a_131047_closes_the_window_until_the_customer_writes_again() -> None:
    closed = window_of(last_customer_at=T0, window_closed_at=T0 + H, fep_expires_at=None, now=T0 + 2 * H)
    assert (closed.open, closed.reason) == (False, WindowReason.CLOSED_BY_PROVIDER)
    reopened = window_of(
        last_customer_at=T0 + 3 * H, window_closed_at=T0 + H, fep_expires_at=None, now=T0 + 4 * H
    )
    assert reopened.open


def test_the_free_entry_point_is_reported_but_does_not_open_the_window() -> None:
    w = window_of(last_customer_at=T0, window_closed_at=None, fep_expires_at=T0 + 72 * H, now=T0 + 30 * H)
    assert not w.open
    assert w.free_entry_point_until == T0 + 72 * H


def test_the_free_entry_point_opens_only_when_answering_within_24_hours() -> None:
    assert free_entry_point_opens(T0, T0 + H) == T0 + H + FREE_ENTRY_POINT_MS
    assert free_entry_point_opens(T0, T0 + WINDOW_MS) is None
    assert free_entry_point_opens(None, T0) is None


# -- takeover -----------------------------------------------------------------------------------


def times(**kw: int | None) -> TakeoverTimes:
    values: dict[str, int | None] = dict(
        last_echo_at=None, takeover_until=None, takeover_released_at=None, last_customer_at=None
    )
    values.update(kw)
    return TakeoverTimes(**values)  # type: ignore[arg-type]


def test_an_echo_hands_the_conversation_to_a_human_for_the_ttl() -> None:
    t = takeover_of(times(last_echo_at=T0), T0 + TTL - 1, ttl_ms=TTL)
    assert (t.handler, t.cause, t.since, t.until) == (Handler.HUMAN, TakeoverCause.ECHO, T0, T0 + TTL)
    assert not takeover_of(times(last_echo_at=T0), T0 + TTL, ttl_ms=TTL).human


def test_a_release_wins_over_every_older_echo_and_a_newer_echo_takes_it_again() -> None:
    mark = release_mark(T0 + 400, T0)  # released 400 ms after an echo of the same second
    assert not takeover_of(times(last_echo_at=T0, takeover_released_at=mark), T0 + 500, ttl_ms=TTL).human
    assert takeover_of(times(last_echo_at=T0 + 1000, takeover_released_at=mark), T0 + 1001, ttl_ms=TTL).human
    # An echo in the second of a release with no echo in that second is taken as newer.
    late = release_mark(T0 + 400, T0 - 60_000)
    assert takeover_of(times(last_echo_at=T0, takeover_released_at=late), T0 + 500, ttl_ms=TTL).human


def test_an_operator_takeover_lasts_until_its_time() -> None:
    t = takeover_of(times(takeover_until=T0 + H), T0, ttl_ms=TTL)
    assert (t.handler, t.cause, t.until) == (Handler.HUMAN, TakeoverCause.OPERATOR, T0 + H)
    assert not takeover_of(times(takeover_until=T0 + H), T0 + H, ttl_ms=TTL).human


def test_resume_on_customer_is_optional() -> None:
    answered = times(last_echo_at=T0, last_customer_at=T0 + 1)
    assert takeover_of(answered, T0 + 2, ttl_ms=TTL).human
    assert not takeover_of(answered, T0 + 2, ttl_ms=TTL, resume_on_customer=True).human


@given(
    echo=st.one_of(st.none(), st.integers(0, 10 * H)),
    released=st.one_of(st.none(), st.integers(0, 10 * H)),
    until=st.one_of(st.none(), st.integers(0, 10 * H)),
    now=st.integers(0, 12 * H),
)
def test_takeover_is_human_exactly_when_a_live_echo_or_operator_turn_holds(
    echo: int | None, released: int | None, until: int | None, now: int
) -> None:
    t = takeover_of(
        times(last_echo_at=echo, takeover_released_at=released, takeover_until=until), now, ttl_ms=TTL
    )
    by_echo = echo is not None and (released is None or echo >= released) and now < echo + TTL
    by_operator = until is not None and now < until
    assert t.human == (by_echo or by_operator)
    if t.human:
        assert t.until is not None
        assert t.until > now


# -- outbound bodies ----------------------------------------------------------------------------


def test_our_text_becomes_the_cloud_api_body() -> None:
    out = from_api({"to": "+49 151 1234-5678", "text": "hi", "reply_to": "wamid.X"})
    assert out.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "4915112345678",
        "type": "text",
        "text": {"body": "hi"},
        "context": {"message_id": "wamid.X"},
    }
    assert (out.text, out.reply_to, out.free_form) == ("hi", "wamid.X", True)


def test_template_parameters_shorthand_positional_and_named() -> None:
    out = from_api(
        {"to": "4915112345678", "template": {"name": "t", "language": "en_US", "parameters": ["A", 2]}}
    )
    assert out.body["template"]["components"] == [
        {"type": "body", "parameters": [{"type": "text", "text": "A"}, {"type": "text", "text": "2"}]}
    ]
    assert out.body["template"]["language"] == {"code": "en_US", "policy": "deterministic"}
    named = from_api(
        {
            "to": "4915112345678",
            "template": {"name": "t", "language": "en", "parameters": {"first_name": "Jo"}},
        }
    )
    assert named.template is not None
    assert named.template.parameters["body"] == [
        {"type": "text", "text": "Jo", "parameter_name": "first_name"}
    ]
    assert not named.free_form


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ({"text": "hi"}, "to must be"),
        ({"to": "12", "text": "hi"}, "international format"),
        ({"to": "4915112345678"}, "exactly one of"),
        ({"to": "4915112345678", "text": "hi", "image": {"link": "https://x/y.jpg"}}, "exactly one of"),
        ({"to": "4915112345678", "text": "  "}, "text.body"),
        ({"to": "4915112345678", "text": "x" * 4097}, "longer than 4096"),
        ({"to": "4915112345678", "image": {"caption": "c"}}, "needs an `id`"),
        ({"to": "4915112345678", "image": {"id": "1", "link": "https://x"}}, "not both"),
        ({"to": "4915112345678", "template": {"name": "t"}}, "template.language"),
        ({"to": "4915112345678", "reaction": {"message_id": "wamid.X"}}, "reaction.emoji"),
    ],
)
def test_bad_sends_are_refused_with_a_clear_reason(payload: dict, says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        from_api(payload)


def test_graph_bodies_need_messaging_product_and_their_type_object() -> None:
    with pytest.raises(InvalidInput, match="messaging_product"):
        from_graph({"to": "4915112345678", "type": "text", "text": {"body": "x"}})
    with pytest.raises(InvalidInput, match="needs a `image` object"):
        from_graph({"messaging_product": "whatsapp", "to": "4915112345678", "type": "image"})
    out = from_graph({"messaging_product": "whatsapp", "to": "+4915112345678", "text": {"body": "x"}})
    assert (out.type, out.to, out.body["type"]) == ("text", "4915112345678", "text")


def test_placeholders_and_render() -> None:
    assert placeholders("Hi {{1}}, order {{2}} ({{1}})") == ["1", "2"]
    assert (
        render(
            "Hi {{1}}, {{ name }}",
            [{"type": "text", "text": "Jo"}, {"type": "text", "text": "x", "parameter_name": "name"}],
        )
        == "Hi Jo, x"
    )


# -- templates ----------------------------------------------------------------------------------


def template(status: str = "APPROVED", fmt: str | None = None, **extra: object) -> Template:
    components = [
        {"type": "HEADER", "format": "IMAGE"},
        {
            "type": "BODY",
            "text": "Hi {{1}}, your order {{2}} shipped" if fmt != "NAMED" else "Hi {{first_name}}",
        },
        {"type": "BUTTONS", "buttons": [{"type": "URL", "url": "https://x.example/{{1}}"}]},
    ]
    return Template("waba", "order", "en_US", status, "utility", fmt, components)  # type: ignore[arg-type]


def use(**params: list) -> object:
    body: dict = {
        "messaging_product": "whatsapp",
        "to": "4915112345678",
        "type": "template",
        "template": {"name": "order", "language": {"code": "en_US"}, "components": []},
    }
    for kind, values in params.items():
        comp: dict = {"type": kind.split("_")[0], "parameters": values}
        if kind.startswith("button"):
            comp.update(type="button", sub_type="url", index="0")
        body["template"]["components"].append(comp)
    out = from_graph(body)
    return out.template


FULL = dict(
    header=[{"type": "image", "image": {"link": "https://x/y.jpg"}}],
    body=[{"type": "text", "text": "Jo"}, {"type": "text", "text": "A-1"}],
    button_0=[{"type": "text", "text": "A-1"}],
)


def test_a_complete_send_of_an_approved_template_passes() -> None:
    assert check_template(template(), use(**FULL)).category == "utility"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tpl", "params", "code", "graph_code"),
    [
        (None, FULL, "template_unknown", 132001),
        (template("PAUSED"), FULL, "template_not_approved", 132015),
        (template("PENDING"), FULL, "template_not_approved", 132001),
        (template(), {**FULL, "body": FULL["body"][:1]}, "template_parameters", 132000),
        (template(), {k: v for k, v in FULL.items() if k != "header"}, "template_parameters", 132000),
        (template(), {k: v for k, v in FULL.items() if k != "button_0"}, "template_parameters", 132000),
        (
            template(fmt="NAMED"),
            {**FULL, "body": [{"type": "text", "text": "Jo"}]},
            "template_parameter_format",
            132012,
        ),
        (
            template(fmt="NAMED"),
            {**FULL, "body": [{"type": "text", "text": "Jo", "parameter_name": "x"}]},
            "template_parameters",
            132000,
        ),
    ],
)
def test_templates_that_cannot_be_sent_are_refused_with_metas_code(tpl, params, code, graph_code) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Refused) as info:
        check_template(tpl, use(**params))  # type: ignore[arg-type]
    assert (info.value.code, info.value.graph_code) == (code, graph_code)


def test_the_record_reads_the_template_body_with_its_parameters() -> None:
    assert template().body_text(use(**FULL)) == "Hi Jo, your order A-1 shipped"  # type: ignore[arg-type]
