"""Make a throwaway CA, a server certificate and a client certificate, to try TLS locally.

    python docs/snippets/make_test_certs.py docs/snippets/certs

writes ca.pem, server.pem + server.key (for localhost, 127.0.0.1 and ::1) and client.pem
+ client.key, valid for 30 days. For production, use certificates from your CA.
"""

import datetime
import ipaddress
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def certificate(subject, key, issuer, issuer_key, *extensions):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def write(directory, stem, cert, key=None):
    (directory / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path = directory / f"{stem}.key"
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)


def main(directory):
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate(
        "autostrada test CA",
        ca_key,
        "autostrada test CA",
        ca_key,
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (x509.KeyUsage(False, False, False, False, False, True, True, False, False), True),
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    hosts = [x509.DNSName("localhost")] + [
        x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", "::1")
    ]
    server = certificate(
        "localhost",
        server_key,
        "autostrada test CA",
        ca_key,
        (x509.SubjectAlternativeName(hosts), False),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = certificate(
        "client-1",
        client_key,
        "autostrada test CA",
        ca_key,
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False),
    )
    write(directory, "ca", ca)
    write(directory, "server", server, server_key)
    write(directory, "client", client, client_key)
    print(f"wrote ca.pem, server.pem, server.key, client.pem, client.key to {directory}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "certs"))
