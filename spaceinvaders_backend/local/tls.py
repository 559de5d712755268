"""The server's TLS certificate: the operator's, or one made on first start and kept in the data directory.

A room's server is reached over the room's network, where anybody can read plain HTTP, so off loopback it
speaks HTTPS (granian serves TLS itself). Without a certificate from the operator it makes a self-signed
one (ECDSA P-256: the cheapest handshakes for the server) with the host's names and addresses as subject
alternative names, keeps it beside the database (key 0600) and reuses it on every start: players pin its
SHA-256 fingerprint (printed at start, carried in the join URL and in the room's advertisement), so it must
stay the same from one start to the next. A certificate that is due to expire within a day is made anew.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_FILE = "tls-certificate.pem"
KEY_FILE = "tls-key.pem"
VALID_DAYS = 10 * 365  # pinned, not vouched for by an authority: a long life spares players a re-pin
RENEW_BEFORE = dt.timedelta(days=1)
WILDCARDS = ("0.0.0.0", "::", "")


class TlsError(Exception):
    """A certificate or key the server cannot use; the message says which and why."""


@dataclass(frozen=True)
class ServerCertificate:
    cert_path: Path
    key_path: Path
    fingerprint: str  # SHA-256 of the leaf certificate's DER, 64 lowercase hex digits
    made_here: bool  # the self-signed certificate of this data directory (not the operator's)
    created: bool = False  # made by this start


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server on this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_addresses(bind_host: str = "0.0.0.0") -> list[str]:
    """The addresses players can reach this server at: the bound one, or for a wildcard every address of
    this host that is neither loopback nor link-local (IPv4 first)."""
    if bind_host not in WILDCARDS:
        try:
            return [str(ipaddress.ip_address(bind_host.strip("[]")))]
        except ValueError:  # a name: the addresses it stands for here
            infos = socket.getaddrinfo(bind_host, None, proto=socket.IPPROTO_TCP)
            return list(dict.fromkeys(str(info[4][0]) for info in infos))
    import ifaddr  # zeroconf's dependency: lists the interfaces on Linux, macOS and Windows

    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            text = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue
            if bind_host == "0.0.0.0" and address.version == 6:
                continue  # an IPv4 wildcard is not reached over IPv6
            if not (address.is_loopback or address.is_link_local or address in found):
                found.append(address)
    return [str(a) for a in sorted(found, key=lambda a: (a.version, a))]


def fingerprint_of(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def readable(fingerprint: str) -> str:
    """AB:CD:... as `openssl x509 -fingerprint -sha256` prints it, for comparing by eye or aloud."""
    return ":".join(fingerprint[i:i + 2] for i in range(0, len(fingerprint), 2)).upper()


def server_certificate(data_dir: Path, bind_host: str, cert: Path | None = None,
                       key: Path | None = None) -> ServerCertificate:
    """The operator's certificate (`cert` and `key`), checked; else the data directory's, made if missing."""
    if (cert is None) != (key is None):
        raise TlsError("--tls-cert and --tls-key go together")
    if cert is not None and key is not None:
        return _operator_certificate(cert, key)
    cert_path, key_path = data_dir / CERT_FILE, data_dir / KEY_FILE
    if cert_path.exists() and key_path.exists():
        leaf = _load_leaf(cert_path)
        if leaf.not_valid_after_utc - RENEW_BEFORE > dt.datetime.now(dt.UTC):
            _check_pair(cert_path, key_path)
            os.chmod(key_path, 0o600)
            return ServerCertificate(cert_path, key_path, fingerprint_of(leaf.public_bytes(serialization.Encoding.DER)),
                                     made_here=True)
    return _make_self_signed(cert_path, key_path, bind_host)


def _operator_certificate(cert: Path, key: Path) -> ServerCertificate:
    for path in (cert, key):
        if not path.is_file():
            raise TlsError(f"no such file: {path}")
    leaf = _load_leaf(cert)
    if leaf.not_valid_after_utc < dt.datetime.now(dt.UTC):
        raise TlsError(f"the certificate in {cert} expired on {leaf.not_valid_after_utc:%Y-%m-%d}")
    _check_pair(cert, key)
    return ServerCertificate(cert, key, fingerprint_of(leaf.public_bytes(serialization.Encoding.DER)), made_here=False)


def _load_leaf(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())[0]
    except (ValueError, IndexError, OSError) as exc:
        raise TlsError(f"{path} holds no PEM certificate: {exc}") from None


def _check_pair(cert: Path, key: Path) -> None:
    """The key is the certificate's, unencrypted (granian reads it without a password), and both load."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key, password=lambda: b"")
    except (ssl.SSLError, OSError) as exc:
        raise TlsError(f"{key} is not the unencrypted private key of {cert}: {exc}") from None


def _names(bind_host: str) -> tuple[list[str], list[ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    hostname = socket.gethostname()
    names = ["localhost"]
    for name in (hostname, f"{hostname.split('.')[0]}.local"):
        if name and name not in names:
            names.append(name)
    addresses = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    if bind_host not in WILDCARDS and not is_loopback(bind_host) and bind_host not in names:
        try:
            ipaddress.ip_address(bind_host.strip("[]"))
        except ValueError:  # a host name to bind: players may use it
            names.append(bind_host)
    for text in host_addresses(bind_host) if not is_loopback(bind_host) else []:
        address = ipaddress.ip_address(text)
        if address not in addresses:
            addresses.append(address)
    return names, addresses


def _make_self_signed(cert_path: Path, key_path: Path, bind_host: str) -> ServerCertificate:
    key = ec.generate_private_key(ec.SECP256R1())
    names, addresses = _names(bind_host)
    common_name = f"Space Invaders room {socket.gethostname()}"[:64]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in names] + [x509.IPAddress(a) for a in addresses]
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    _write_private(key_path, key_pem)
    _write_private(cert_path, certificate.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return ServerCertificate(cert_path, key_path, fingerprint_of(certificate.public_bytes(serialization.Encoding.DER)),
                             made_here=True, created=True)


def _write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write `path` atomically, created with `mode` (the key is never readable by others, even briefly)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed a public certificate's mode
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
