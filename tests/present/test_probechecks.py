"""The diagnoser's extra checks as a form: both explorers accept and refuse the same input."""

from __future__ import annotations

import pytest

from explorer.diagnose.model import MAX_PUBLISH_SIZE, ProbeChecks
from explorer.errors import ExplorerError
from explorer.present.probechecks import CHECK_OPTIONS, checks_summary, parse_size, probe_checks


@pytest.mark.parametrize(
    ("text", "size"), [("4096", 4096), ("64K", 65536), ("64kib", 65536), (" 1M ", 1048576), ("0", 0)]
)
def test_sizes_are_bytes_with_binary_suffixes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "words"), [("lots", "is not a size"), ("-1", "outside"), ("300M", "outside")]
)
def test_bad_sizes_are_named(text: str, words: str) -> None:
    with pytest.raises(ExplorerError, match=words):
        parse_size(text)


def test_an_empty_form_asks_for_nothing_more() -> None:
    checks = probe_checks(browser=False, compression=False, publish_size="", idle=" ", keep_alive=60)
    assert checks == ProbeChecks()
    assert checks_summary(checks) == ""


def test_a_filled_form_is_the_clis_checks() -> None:
    checks = probe_checks(browser=True, compression=False, publish_size="4K", idle="5", keep_alive=60)
    assert checks == ProbeChecks(idle=5.0, browser=True, publish_size=4096)
    assert checks_summary(checks) == "as a browser, publishing 4,096 B, idle 5 s"


@pytest.mark.parametrize(
    ("size", "idle", "words"),
    [
        ("lots", "", "Publish size: 'lots' is not a size"),
        ("", "soon", "Idle check: 'soon' is not a number of seconds"),
        ("", "-3", "Idle check: give 0 seconds or more"),
        ("", "nan", "Idle check: give 0 seconds or more"),
        ("", "60", r"Idle check: 60 s must be shorter than the keep alive \(60 s\)"),
    ],
)
def test_bad_fields_are_one_sentence_naming_the_field(size: str, idle: str, words: str) -> None:
    with pytest.raises(ExplorerError, match=words):
        probe_checks(browser=False, compression=False, publish_size=size, idle=idle, keep_alive=60)


def test_the_switches_are_the_cli_flags() -> None:
    assert [option.key for option in CHECK_OPTIONS] == ["browser", "compression"]
    assert all(option.label and option.tooltip for option in CHECK_OPTIONS)
    assert MAX_PUBLISH_SIZE < 268_435_455
