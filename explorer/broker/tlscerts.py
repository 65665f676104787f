"""Certificates for the broker's TLS listeners: a local CA, its server certificate, and
the broken certificates of the TLS fault modes.

With ``broker --tls`` and no ``--cert``, the broker makes (once) a local certificate
authority and a server certificate for the names it is bound to, with ``cryptography``,
under ``tls/`` in the user's data directory (``$MQTTWS_DATA_DIR`` overrides it). Both
are reused while valid and while the server certificate still covers the names; the
user trusts the CA file (``--ca`` of ``sub``/``pub``/``probe``, or a browser's
certificate store) and every later certificate works too. Private keys are written with
mode 0600. Keys are ECDSA P-256: made in milliseconds, accepted by every browser.

The fault modes get their certificates here too, made fresh at every start: expired,
issued for another host name, issued by an intermediate CA the server does not send,
and self-signed. A client certificate signed by the local CA is made along with the
server certificate, for trying ``tls-client-cert-required`` with ``--cert``/``--key``.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import TLS_CERTIFICATE_FAULTS
from explorer.errors import ExplorerError

__all__ = [
    "DATA_DIR_ENV",
    "TlsFiles",
    "data_dir",
    "listener_contexts",
    "local_tls_files",
    "server_context",
    "server_names",
]

DATA_DIR_ENV: Final = "MQTTWS_DATA_DIR"


_CA_DAYS: Final = 3650
# Apple platforms refuse server certificates valid for more than 825 days; stay well below.
_LEAF_DAYS: Final = 397
_RENEW_BEFORE: Final = datetime.timedelta(days=7)
_WRONG_HOST: Final = "wrong-host.invalid"  # RFC 6761 §6.4: never resolves


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The files a TLS listener serves, and the CA a client should trust.

    ``chain_file`` is what the server sends (the leaf, then any intermediates it does
    send); ``ca_file`` is the local CA (``None`` with the user's own ``--cert``);
    ``client_cert_file``/``client_key_file`` make a client certificate the local CA signed.
    """

    chain_file: Path
    key_file: Path
    ca_file: Path | None
    client_cert_file: Path | None = None
    client_key_file: Path | None = None


def data_dir() -> Path:
    """``$MQTTWS_DATA_DIR`` if set, else the platform's user data directory."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir("mqttws-explorer", appauthor=False))


def server_names(bind: str) -> tuple[str, ...]:
    """The names a server bound to ``bind`` is reached by: loopback always, and the
    machine's own name when it listens on every address."""
    names = ["localhost", "127.0.0.1", "::1"]
    if bind in ("", "0.0.0.0", "::"):
        names.append(socket.gethostname())
    elif bind not in names:
        names.append(bind)
    return tuple(dict.fromkeys(names))


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _subject_alt_names(names: tuple[str, ...]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mqttws-explorer local"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _ca_certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    *,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None,
) -> x509.Certificate:
    now = _now()
    issuer_name = issuer[0].subject if issuer else _name(subject)
    signing_key = issuer[1] if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=_CA_DAYS))
        .add_extension(
            x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=True
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return builder.sign(signing_key, hashes.SHA256())


def _leaf(
    names: tuple[str, ...],
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    client: bool = False,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> x509.Certificate:
    """A server (or client) certificate; ``issuer`` ``None`` makes it self-signed."""
    now = _now()
    subject = _name(names[0])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - datetime.timedelta(hours=1))
        .not_valid_after(not_after or now + datetime.timedelta(days=_LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]
            ),
            critical=False,
        )
    )
    if not client:
        builder = builder.add_extension(_subject_alt_names(names), critical=False)
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()), critical=False
        )
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """Write a private key readable by its owner only (mode 0600 from the start)."""
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _load(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    return cert, key


def _still_valid(cert: x509.Certificate) -> bool:
    return cert.not_valid_after_utc - _RENEW_BEFORE > _now() >= cert.not_valid_before_utc


def _covers(cert: x509.Certificate, names: tuple[str, ...]) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have = {str(value) for value in san.get_values_for_type(x509.DNSName)}
    have |= {str(value) for value in san.get_values_for_type(x509.IPAddress)}
    wanted = {str(ipaddress.ip_address(n)) if _is_ip(n) else n for n in names}
    return wanted <= have


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    if cert.issuer != ca.subject:
        return False
    try:
        cert.verify_directly_issued_by(ca)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _local_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, bool]:
    """The local CA, made if missing or expiring; the flag says it is new."""
    loaded = _load(directory / "ca.pem", directory / "ca.key")
    if loaded is not None and _still_valid(loaded[0]):
        return loaded[0], loaded[1], False
    key = _key()
    cert = _ca_certificate("mqttws-explorer local CA", key)
    _write_key(directory / "ca.key", key)
    _write(directory / "ca.pem", _pem(cert))
    return cert, key, True


def local_tls_files(
    names: tuple[str, ...], *, fault: str | None = None, directory: Path | None = None
) -> TlsFiles:
    """The certificate files for the TLS listeners, made or reused under ``directory``
    (``tls/`` in :func:`data_dir` by default).

    Raises:
        ExplorerError: the directory cannot be written.
    """
    base = directory if directory is not None else data_dir() / "tls"
    try:
        base.mkdir(parents=True, exist_ok=True)
        return _files(base, names, fault)
    except OSError as exc:
        raise ExplorerError(f"cannot write the broker's TLS certificates under {base}: {exc}") from None


def _files(base: Path, names: tuple[str, ...], fault: str | None) -> TlsFiles:
    ca_cert, ca_key, new_ca = _local_ca(base)
    ca = (ca_cert, ca_key)
    server = _load(base / "server.pem", base / "server.key")
    if (
        server is None
        or new_ca
        or not _still_valid(server[0])
        or not _covers(server[0], names)
        or not _issued_by(server[0], ca_cert)
    ):
        key = _key()
        _write_key(base / "server.key", key)
        _write(base / "server.pem", _pem(_leaf(names, key, ca)))
    client = _load(base / "client.pem", base / "client.key")
    if client is None or new_ca or not _still_valid(client[0]) or not _issued_by(client[0], ca_cert):
        key = _key()
        _write_key(base / "client.key", key)
        _write(base / "client.pem", _pem(_leaf(("mqttws-explorer client",), key, ca, client=True)))
    common = {
        "ca_file": base / "ca.pem",
        "client_cert_file": base / "client.pem",
        "client_key_file": base / "client.key",
    }
    if fault is None or fault not in TLS_CERTIFICATE_FAULTS:
        return TlsFiles(base / "server.pem", base / "server.key", **common)
    faults = base / "faults"
    faults.mkdir(exist_ok=True)
    key = _key()
    now = _now()
    if fault == "tls-expired":
        day = datetime.timedelta(days=1)
        chain = [_leaf(names, key, ca, not_before=now - 31 * day, not_after=now - day)]
    elif fault == "tls-wrong-host":
        chain = [_leaf((_WRONG_HOST,), key, ca)]
    elif fault == "tls-incomplete-chain":
        # The leaf is issued by an intermediate CA that the server leaves out of its chain.
        middle_key = _key()
        middle = _ca_certificate("mqttws-explorer local intermediate CA", middle_key, issuer=ca)
        chain = [_leaf(names, key, (middle, middle_key))]
        _write(faults / "intermediate.pem", _pem(middle))
    else:  # tls-self-signed
        chain = [_leaf(names, key, None)]
    _write_key(faults / f"{fault}.key", key)
    _write(faults / f"{fault}.pem", _pem(*chain))
    return TlsFiles(faults / f"{fault}.pem", faults / f"{fault}.key", **common)


def server_context(
    files: TlsFiles, *, require_client_cert: bool = False, websocket: bool = False
) -> ssl.SSLContext:
    """The TLS server context of one listener (TLS 1.2 or later).

    ``websocket`` selects ``http/1.1`` by ALPN, as a browser offering ``h2`` too expects
    of a WebSocket endpoint; ``require_client_cert`` asks for a client certificate issued
    by the local CA and refuses the handshake without one.

    Raises:
        ExplorerError: the certificate or key cannot be loaded.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(files.chain_file, files.key_file)
        if require_client_cert:
            if files.ca_file is None:
                raise ExplorerError("tls-client-cert-required needs the local CA: leave out --cert/--key")
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cafile=files.ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ExplorerError(f"cannot load the broker's TLS certificate {files.chain_file}: {exc}") from None
    if websocket:
        context.set_alpn_protocols(["http/1.1"])
    return context


def listener_contexts(config: BrokerConfig) -> tuple[TlsFiles, ssl.SSLContext | None, ssl.SSLContext | None]:
    """The files served and the wss and mqtts contexts for ``config`` (the contexts are
    ``None`` in the ``tls-plaintext`` fault mode: those ports then speak plaintext)."""
    faults = config.faults
    if config.tls_cert is not None and faults.tls_certificate is None:
        files = TlsFiles(config.tls_cert, config.tls_key or config.tls_cert, None)
    else:
        files = local_tls_files(
            server_names(config.bind), fault=faults.tls_certificate, directory=config.tls_dir
        )
    if faults.tls_plaintext:
        return files, None, None
    required = faults.tls_client_cert_required
    return (
        files,
        server_context(files, require_client_cert=required, websocket=True),
        server_context(files, require_client_cert=required),
    )
