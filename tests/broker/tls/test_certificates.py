"""The local CA and the server certificate: made once, kept private, reused while valid."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

from cryptography import x509

from explorer.broker.tlscerts import local_tls_files, server_names


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ca_and_server_certificate_are_made_in_the_data_directory(data_dir: Path) -> None:
    files = local_tls_files(server_names("127.0.0.1"))
    assert files.ca_file == data_dir / "tls" / "ca.pem"
    assert files.chain_file.parent == data_dir / "tls"
    for key in (data_dir / "tls" / "ca.key", files.key_file, files.client_key_file):
        assert key is not None
        assert _mode(key) == 0o600, key
    # OpenSSL itself accepts the chain for every loopback name, against the CA alone.
    context = ssl.create_default_context(cafile=str(files.ca_file))
    leaf = x509.load_pem_x509_certificate(files.chain_file.read_bytes())
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(name) for name in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_certificates_are_reused_while_valid(data_dir: Path) -> None:
    first = local_tls_files(server_names("127.0.0.1"))
    before = {path: path.read_bytes() for path in (data_dir / "tls").iterdir()}
    second = local_tls_files(server_names("127.0.0.1"))
    assert second == first
    assert {path: path.read_bytes() for path in (data_dir / "tls").iterdir()} == before


def test_a_new_bound_name_gets_a_new_server_certificate_from_the_same_ca(data_dir: Path) -> None:
    first = local_tls_files(server_names("127.0.0.1"))
    ca_before = first.ca_file.read_bytes() if first.ca_file else b""
    leaf_before = first.chain_file.read_bytes()
    second = local_tls_files(server_names("192.0.2.7"))
    assert second.ca_file is not None
    assert second.ca_file.read_bytes() == ca_before  # the CA the user trusts stays
    assert second.chain_file.read_bytes() != leaf_before
    leaf = x509.load_pem_x509_certificate(second.chain_file.read_bytes())
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "192.0.2.7" in {str(name) for name in san.get_values_for_type(x509.IPAddress)}


def test_a_damaged_server_certificate_is_replaced(data_dir: Path) -> None:
    files = local_tls_files(server_names("127.0.0.1"))
    files.chain_file.write_text("not a certificate")
    again = local_tls_files(server_names("127.0.0.1"))
    assert again.chain_file.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
