"""Codec rules in profiles: the TOML table, the profile form both explorers render, the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from explorer.cli import main
from explorer.client.options import ConnectionOptions
from explorer.codecs import CodecRule
from explorer.present.profileform import FormErrors, ProfileForm
from explorer.profiles.format import Profile, ProfileName
from explorer.profiles.store import ProfileStore
from tests.keyring_support import config_dir

__all__ = ["config_dir"]


def test_codec_rules_round_trip_through_the_profile_form() -> None:
    rules = (
        CodecRule("acme/#", "protobuf", "acme.Telemetry", ("/p/a.proto",)),
        CodecRule("legacy/+", "gzip+msgpack"),
    )
    profile = Profile(ProfileName("plant"), ConnectionOptions(url="ws://127.0.0.1:1/mqtt"), codecs=rules)
    form = ProfileForm.from_profile(profile)
    assert form.values["codecs"] == "acme/#=protobuf:acme.Telemetry\nlegacy/+=gzip+msgpack"
    assert form.values["proto_files"] == "/p/a.proto"
    assert form.to_profile().codecs == rules
    form.values["codecs"] = "a/#=cbor\nb/#=protobuf:x.Y"
    form.values["proto_files"] = "/p/x.proto"
    assert form.to_profile().codecs == (
        CodecRule("a/#", "cbor"),
        CodecRule("b/#", "protobuf", "x.Y", ("/p/x.proto",)),
    )
    form.values["codecs"] = "a/#=yaml"
    with pytest.raises(FormErrors) as info:
        form.to_profile()
    assert "unknown codec 'yaml'" in info.value.errors["codecs"]


def test_profiles_add_keeps_codec_rules_in_the_toml_file(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proto = tmp_path / "t.proto"
    proto.write_text('syntax = "proto3";\npackage t;\nmessage M { int32 a = 1; }\n')
    code = main(
        [
            "profiles", "add", "lab", "--url", "ws://127.0.0.1:1/mqtt",
            "--codec", "t/#=protobuf:t.M", "--proto", str(proto), "--codec", "z/#=zstd",
        ]
    )  # fmt: skip
    assert code == 0
    text = (config_dir / "profiles.toml").read_text()
    assert 'codecs = [{filter = "t/#", codec = "protobuf", message = "t.M", proto = [' in text
    profile = ProfileStore().get("lab")
    assert profile.codecs == (CodecRule("t/#", "protobuf", "t.M", (str(proto),)), CodecRule("z/#", "zstd"))
    assert main(["profiles", "add", "bad", "--url", "ws://127.0.0.1:1/mqtt", "--codec", "nofilter"]) != 0
    assert "--codec 'nofilter': write FILTER=NAME" in capsys.readouterr().err
