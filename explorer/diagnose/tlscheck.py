"""TLS: the client context from :class:`TlsOptions`, and OpenSSL errors mapped to causes.

OpenSSL reports a failed verification as a numeric ``verify_code`` (``X509_V_ERR_*``)
and other failures as a reason string; both are stable across OpenSSL 1.1 and 3.x,
so the mapping below keys on them rather than on message wording.
"""

from __future__ import annotations

import ssl

from explorer.client.options import TlsOptions
from explorer.diagnose.transport import PeerChain
from explorer.diagnose.wire import looks_like_tls_record, printable
from explorer.errors import ExplorerError

__all__ = ["classify_tls_error", "client_context"]

# X509_V_ERR_* codes (openssl/x509_vfy.h).
_UNABLE_TO_GET_ISSUER_CERT = 2
_CERT_NOT_YET_VALID = 9
_CERT_HAS_EXPIRED = 10
_DEPTH_ZERO_SELF_SIGNED_CERT = 18
_SELF_SIGNED_CERT_IN_CHAIN = 19
_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
_UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21
_HOSTNAME_MISMATCH = 62
_IP_ADDRESS_MISMATCH = 64

_CLIENT_CERT_REASONS = frozenset(
    {
        "TLSV13_ALERT_CERTIFICATE_REQUIRED",
        "PEER_DID_NOT_RETURN_A_CERTIFICATE",
        "SSLV3_ALERT_BAD_CERTIFICATE",
    }
)
_PLAINTEXT_REASONS = frozenset(
    {
        "WRONG_VERSION_NUMBER",
        "RECORD_LAYER_FAILURE",
        "PACKET_LENGTH_TOO_LONG",
        "HTTP_REQUEST",
        "UNKNOWN_PROTOCOL",
        "UNEXPECTED_EOF_WHILE_READING",
    }
)


def client_context(tls: TlsOptions) -> ssl.SSLContext:
    """A verifying client context (``insecure`` turns verification off explicitly).

    ALPN offers ``http/1.1`` only where the caller asks for it (WebSocket), as browsers
    do, so an HTTP/2-only TLS endpoint shows up as a failed ALPN negotiation.

    Raises:
        ExplorerError: a CA, certificate or key file cannot be loaded.
    """
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    try:
        if tls.ca_file or tls.ca_dir:
            context.load_verify_locations(cafile=tls.ca_file, capath=tls.ca_dir)
        if tls.cert_file:
            context.load_cert_chain(tls.cert_file, tls.key_file, password=tls.key_password)
    except (OSError, ssl.SSLError) as exc:
        raise ExplorerError(f"cannot load the TLS files: {exc}") from None
    if tls.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if tls.alpn:
        context.set_alpn_protocols(list(tls.alpn))
    if tls.keylog_file:  # SSLKEYLOGFILE is honoured by create_default_context itself
        try:
            context.keylog_filename = tls.keylog_file
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ExplorerError(f"cannot write the TLS key log {tls.keylog_file}: {reason}") from None
    return context


def classify_tls_error(
    exc: ssl.SSLError | OSError, raw_head: bytes, chain: PeerChain | None
) -> tuple[str, dict[str, str]]:
    """The cause slug and observations for a TLS failure.

    Args:
        exc: what OpenSSL (or the socket) raised during or right after the handshake.
        raw_head: the first raw bytes the server sent, to recognise a plaintext answer.
        chain: the certificates the server presented, when known.
    """
    observed: dict[str, str] = {}
    reason = str(getattr(exc, "reason", "") or "")
    message = getattr(exc, "verify_message", None) or reason or str(exc)
    observed["tls_error"] = str(message)
    if raw_head:
        observed["first_bytes_hex"] = raw_head[:32].hex(" ")
        observed["first_bytes_text"] = printable(bytes(raw_head))
    if chain is not None:
        observed["chain_length"] = str(chain.length)
        observed["chain_subjects"] = " | ".join(chain.subjects)

    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        observed["verify_code"] = str(code)
        if code in (_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH):
            return "tls-hostname-mismatch", observed
        if code == _CERT_HAS_EXPIRED:
            return "tls-certificate-expired", observed
        if code == _CERT_NOT_YET_VALID:
            return "tls-certificate-not-yet-valid", observed
        if code in (_DEPTH_ZERO_SELF_SIGNED_CERT, _SELF_SIGNED_CERT_IN_CHAIN):
            return "tls-untrusted-certificate", observed
        if code in (
            _UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
            _UNABLE_TO_VERIFY_LEAF_SIGNATURE,
            _UNABLE_TO_GET_ISSUER_CERT,
        ):
            # The presented chain stops at a certificate whose issuer is not at hand. If
            # the chain ends in a self-issued root, that root is simply untrusted;
            # otherwise the server left out its intermediates.
            if chain is not None and chain.last_self_issued:
                return "tls-untrusted-certificate", observed
            return "tls-incomplete-chain", observed
        return "tls-handshake-failed", observed

    if reason in _CLIENT_CERT_REASONS:
        return "tls-client-certificate-required", observed
    if reason == "TLSV1_ALERT_NO_APPLICATION_PROTOCOL":
        observed["http2_evidence"] = "TLS ALPN found no common protocol with http/1.1"
        return "http2-only", observed
    if raw_head and not looks_like_tls_record(bytes(raw_head)):
        observed.setdefault("first_bytes_text", printable(bytes(raw_head)))
        return "tls-to-plaintext-port", observed
    if not raw_head and (
        isinstance(exc, ssl.SSLEOFError | ConnectionResetError) or reason in _PLAINTEXT_REASONS
    ):
        observed["first_bytes_text"] = "the server closed the connection without a TLS answer"
        return "tls-to-plaintext-port", observed
    if reason in _PLAINTEXT_REASONS and not looks_like_tls_record(bytes(raw_head)):
        return "tls-to-plaintext-port", observed
    return "tls-handshake-failed", observed
