"""Ed25519 key pairs: one per device (signs requests and bundles), one per district server
(signs bundle ack files). Only public keys ever leave the machine that made them."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync import protocol
from sync.protocol import b64, unb64


def new_private_key() -> str:
    """A fresh private key as unencrypted PKCS#8 PEM (stored in the owner-only database)."""
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _private(pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 key")
    return key


def public_of(pem: str) -> str:
    """The raw 32-byte public key, base64url, as the server stores it."""
    raw = _private(pem).public_key().public_bytes(serialization.Encoding.Raw,
                                                  serialization.PublicFormat.Raw)
    return b64(raw)


def sign(pem: str, message: bytes) -> str:
    """Ed25519 signature of ``message``, base64url."""
    return b64(_private(pem).sign(message))


def verify(public_b64: str, message: bytes, signature_b64: str) -> bool:
    """True when ``signature_b64`` is the key's signature of ``message``; never raises."""
    try:
        Ed25519PublicKey.from_public_bytes(unb64(public_b64)).verify(unb64(signature_b64),
                                                                     message)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def request_headers(pem: str, device_id: str, method: str, path_qs: str, body: bytes,
                    now: datetime) -> dict[str, str]:
    """The headers that sign one request: device, UTC time, a fresh nonce and the signature
    over all of them with the method, path and body digest (docs/relay-security.md). A naive
    ``now`` is taken as local time."""
    stamp = now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    nonce = secrets.token_urlsafe(16)
    message = protocol.signing_message(method, path_qs, hashlib.sha256(body).hexdigest(),
                                       stamp, device_id, nonce)
    return {protocol.H_DEVICE: device_id, protocol.H_TIME: stamp, protocol.H_NONCE: nonce,
            protocol.H_SIGNATURE: sign(pem, message)}


def compact_request_header(pem: str, device_id: str, method: str, path_qs: str, body: bytes,
                           now: datetime) -> dict[str, str] | None:
    """The same signature in one ``Sig`` header (``protocol.H_SIG``): the device's UUID in
    base64url, Unix milliseconds, a 12-byte nonce, the signature. None when the device id
    is not a canonical UUID (the four headers then)."""
    try:
        parsed = uuid.UUID(device_id)
    except ValueError:
        return None
    if str(parsed) != device_id:
        return None
    stamp = str(int(now.timestamp() * 1000))
    nonce = secrets.token_urlsafe(12)
    message = protocol.signing_message(method, path_qs, hashlib.sha256(body).hexdigest(),
                                       stamp, device_id, nonce)
    return {protocol.H_SIG: ".".join((b64(parsed.bytes), stamp, nonce, sign(pem, message)))}


def parse_compact_header(value: str) -> tuple[str, str, str, str] | None:
    """Device id, time, nonce and signature of a ``Sig`` header, or None when it is not one."""
    parts = value.split(".")
    if len(parts) != 4 or len(parts[0]) != 22 or not parts[1].isdigit() \
            or len(parts[1]) > 15:
        return None
    try:
        device = str(uuid.UUID(bytes=unb64(parts[0])))
    except ValueError:
        return None
    return device, parts[1], parts[2], parts[3]
