"""Explaining an unexpected close from the silences before it, and the probe's idle check
naming the proxy timeout it matches (nginx with proxy_read_timeout, the broker's fault)."""

from __future__ import annotations

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.diagnose.idle import IDLE_TIMEOUTS, explain_close, idle_match, matching_timeouts
from tests.diagnose.servers import run_probe


def test_sixty_seconds_of_silence_names_nginx_and_the_aws_alb() -> None:
    text = explain_close(60.3, 60.4, keep_alive=120)
    assert text.startswith("The connection closed 60.3 s after the last byte received and 60.4 s after")
    assert "nginx (60 s: proxy_read_timeout" in text
    assert "AWS Application Load Balancer" in text
    assert "raise that timeout above the keep alive (120 s)" in text


@pytest.mark.parametrize(
    ("seconds", "who"),
    [(100.0, "Cloudflare"), (30.5, "Google Cloud"), (240.0, "Azure"), (350.0, "Network Load Balancer")],
)
def test_each_known_default_is_matched(seconds: float, who: str) -> None:
    assert any(who in timeout.who for timeout in matching_timeouts(seconds))
    assert who in explain_close(seconds, seconds, keep_alive=600)


def test_the_last_byte_in_either_direction_restarts_an_idle_timer() -> None:
    # Received 200 s ago, sent 60 s ago (a ping without answer): 60 s is the silence.
    assert "nginx" in explain_close(200.0, 60.0, keep_alive=300)


def test_a_silence_past_one_and_a_half_keep_alives_is_the_broker_itself() -> None:
    assert "1.5 times the keep alive (30 s)" in explain_close(50.0, 50.0, keep_alive=30)


def test_an_unknown_timeout_before_the_keep_alive_is_still_an_intermediary() -> None:
    text = explain_close(5.0, 5.0, keep_alive=60)
    assert "idle timeout of about 5 s" in text
    assert "no common default matches" in text


def test_a_close_while_busy_is_not_an_idle_timeout() -> None:
    assert "not idle" in explain_close(0.2, 0.1, keep_alive=60)
    assert explain_close(None, None, keep_alive=60) == "The connection closed before any byte was exchanged."


def test_the_table_is_sorted_and_each_entry_says_what_to_change() -> None:
    assert [t.seconds for t in IDLE_TIMEOUTS] == sorted(t.seconds for t in IDLE_TIMEOUTS)
    assert all(t.setting for t in IDLE_TIMEOUTS)
    assert idle_match(60.0).startswith("60 s matches the idle timeout of")


async def test_probe_idle_drop_compares_the_silence_with_known_timeouts() -> None:
    faults = parse_faults(["idle-drop=0.5"])
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, tick_interval=0.1, faults=faults)) as broker:
        diagnosis = await run_probe(f"ws://127.0.0.1:{broker.ws_port}/mqtt", idle=5.0)
    assert diagnosis.cause == "liveness-idle-drop"
    assert "no common proxy default matches" in diagnosis.observed["idle_match"]
    assert "look for an idle timeout of that length" in diagnosis.explanation
