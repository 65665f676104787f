"""A profile that carries every field of the form, written to a real profiles.toml."""

from __future__ import annotations

from explorer.client.options import ConnectionOptions, TlsOptions
from explorer.codecs.rules import CodecRule
from explorer.mqtt.enums import ProtocolVersion, RetainHandling
from explorer.mqtt.packets import Properties, Subscription, Will
from explorer.profiles.format import Profile, ProfileName

__all__ = ["FULL_SECRETS", "full_profile"]

FULL_SECRETS = {
    "password": "mqtt-pass-1",
    "http_password": "http-pass-2",
    "key_password": "key-pass-3",
    "proxy_password": "proxy-pass-4",
    "header/Authorization": "Bearer token-5",
}


def full_profile(name: str = "full") -> Profile:
    """Every option set away from its default, with every kind of secret."""
    options = ConnectionOptions(
        url="wss://broker.example.test:8884/mqtt",
        subprotocols=("mqtt", "mqttv3.1"),
        strict_subprotocol=True,
        headers=(("X-Client", "explorer"), ("X-Trace", "a;b, c")),
        secret_headers=(("Authorization", FULL_SECRETS["header/Authorization"]),),
        origin="https://app.example.test",
        http_username="web",
        http_password=FULL_SECRETS["http_password"],
        tls=TlsOptions(
            ca_file="/etc/ssl/ca.pem",
            ca_dir="/etc/ssl/certs",
            cert_file="/etc/ssl/client.pem",
            key_file="/etc/ssl/client.key",
            key_password=FULL_SECRETS["key_password"],
            insecure=True,
            server_name="sni.example.test",
            alpn=("mqtt", "x-amzn-mqtt-ca"),
            keylog_file="/tmp/keys.log",
        ),
        proxy=f"http://proxyuser:{FULL_SECRETS['proxy_password']}@proxy.example.test:3128",
        connect_timeout=4.5,
        handshake_timeout=7.0,
        mqtt_version=ProtocolVersion.V5,
        client_id="explorer-1",
        clean_start=False,
        keep_alive=33,
        session_expiry_interval=3600,
        username="alice",
        password=FULL_SECRETS["password"].encode(),
        will=Will(
            "clients/explorer/status",
            b"gone",
            qos=1,
            retain=True,
            properties=Properties(will_delay_interval=5),
        ),
        receive_maximum=20,
        maximum_packet_size=65536,
        topic_alias_maximum=10,
        request_response_information=True,
        request_problem_information=False,
        user_properties=(("site", "lab"), ("build", "7")),
        authentication_method="SCRAM-SHA-1",
        reconnect=True,
        reconnect_initial_delay=0.5,
        reconnect_max_delay=30.0,
    )
    return Profile(
        name=ProfileName(name),
        options=options,
        subscriptions=(
            Subscription("a/#", qos=2),
            Subscription("b/+", qos=1, no_local=True, retain_as_published=True),
            Subscription("c", qos=0, retain_handling=RetainHandling.DO_NOT_SEND),
            Subscription("sensors/#"),
        ),
        notes="lab broker",
        color="#d04040",
        tags=("lab", "tls"),
        codecs=(CodecRule("acme/#", "msgpack"),),
    )
