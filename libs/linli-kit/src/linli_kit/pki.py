"""A community certificate authority for development and tests (`make run`, the test suites).

Production certificates come from Secrets (cert-manager or the city's PKI); this issues the
same shape locally so that the same mutual-TLS code runs: a SPIFFE URI SAN naming the caller
(`spiffe://linli/<community>/<service>`) and DNS names for the server side.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from linli_kit.auth import TlsFiles


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class IssuedCert:
    """A private key and its certificate, both PEM."""

    key_pem: bytes
    cert_pem: bytes


@dataclass(frozen=True)
class DevelopmentCA:
    """A self-signed CA that issues short-lived leaf certificates."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @staticmethod
    def create(name: str = "Linli development CA") -> DevelopmentCA:
        """A new CA, valid for 30 days."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        return DevelopmentCA(key, cert)

    @property
    def cert_pem(self) -> bytes:
        """The CA certificate every party trusts."""
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, spiffe_id: str, dns_names: tuple[str, ...] = ("localhost",)) -> IssuedCert:
        """A leaf certificate for client and server use, naming `spiffe_id` (valid 7 days).

        It also names localhost and 127.0.0.1, where development servers listen.
        """
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, spiffe_id)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=7))
            .add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.UniformResourceIdentifier(spiffe_id),
                        *(x509.DNSName(name) for name in dns_names),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    ]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        return IssuedCert(_pem_key(key), cert.public_bytes(serialization.Encoding.PEM))

    def tls_files(self, spiffe_id: str, dns_names: tuple[str, ...] = ("localhost",)) -> TlsFiles:
        """A fresh key and certificate for the party, with this CA to trust."""
        issued = self.issue(spiffe_id, dns_names)
        return TlsFiles(issued.key_pem, issued.cert_pem, self.cert_pem)

    def write(self, directory: Path, spiffe_id: str) -> Path:
        """Write a party's tls.key, tls.crt and ca.crt (a TLS Secret's layout) into directory."""
        files = self.tls_files(spiffe_id)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "tls.key").write_bytes(files.key_pem)
        (directory / "tls.key").chmod(0o600)
        (directory / "tls.crt").write_bytes(files.cert_pem)
        (directory / "ca.crt").write_bytes(files.ca_pem)
        return directory
