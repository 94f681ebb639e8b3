"""A small token server: the Bearer flow of ghcr.io and Docker Hub, for tests.

``GET /token?service=SVC&scope=repository:NAME:pull,push&scope=...`` with
optional Basic credentials answers ``{"token", "access_token", "expires_in",
"issued_at"}``. The token is a JWT signed ES256 with a fresh P-256 key; the
key's self-signed certificate is in the JWT header (``x5c``) and in the file
the registry's ``rootcertbundle`` names, so Distribution accepts it.

What a user gets is decided by :attr:`TokenServer.grants`: ``{user: {repository
pattern: actions}}``, with ``None`` for anonymous requests and ``*`` matching
any repository; ``registry:catalog:*`` is granted to users whose grants hold
the key ``"catalog"``. Wrong passwords answer 401. Every request is recorded.
"""

from __future__ import annotations

import base64
import datetime
import fnmatch
import http.server
import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

__all__ = ["Grants", "TokenRequest", "TokenServer"]

Grants = dict[str | None, dict[str, frozenset[str]]]
ISSUER = "sregistry-test-issuer"
SERVICE = "sregistry-test-registry"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class TokenRequest:
    """One request the token server answered."""

    user: str | None
    scopes: tuple[str, ...]
    status: int
    service: str | None


@dataclass
class _Signer:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def create(cls) -> _Signer:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sregistry test token signer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate)

    def sign(self, claims: Mapping[str, Any]) -> str:
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der).decode("ascii")]}
        signing_input = (
            _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        )
        der_signature = self.key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der_signature)
        return signing_input + "." + _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


@dataclass
class TokenServer:
    """The token endpoint, served from a thread of the test process."""

    passwords: dict[str, str]
    grants: Grants
    expires_in: int = 300
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    """Identity (refresh) tokens accepted by ``POST``, to the user they stand for."""
    requests: list[TokenRequest] = field(default_factory=list)
    _signer: _Signer = field(default_factory=_Signer.create)
    _server: http.server.ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def realm(self) -> str:
        assert self._server is not None, "the token server is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/token"

    def write_certificate(self, path: Path) -> Path:
        """The signing certificate as PEM, for ``rootcertbundle``."""
        path.write_bytes(self._signer.certificate.public_bytes(serialization.Encoding.PEM))
        return path

    def start(self) -> None:
        handler = _handler_for(self)
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    # -- policy ------------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> tuple[bool, str | None]:
        """``(ok, user)``: no header is anonymous; a wrong password is not ok."""
        if not authorization:
            return True, None
        kind, _, value = authorization.partition(" ")
        if kind.lower() != "basic":
            return False, None
        try:
            user, _, password = base64.b64decode(value).decode("utf-8").partition(":")
        except ValueError:
            return False, None
        expected = self.passwords.get(user)
        if expected is None or not secrets.compare_digest(expected, password):
            return False, None
        return True, user

    def allowed(self, user: str | None, scope: str) -> dict[str, Any] | None:
        """The ``access`` entry ``user`` gets for one requested scope, if any."""
        kind, _, rest = scope.partition(":")
        name, _, wanted = rest.rpartition(":")
        mine = self.grants.get(user, {})
        if kind == "registry" and name == "catalog":
            if "catalog" not in mine:
                return None
            return {"type": "registry", "name": "catalog", "actions": ["*"]}
        if kind != "repository" or not name:
            return None
        granted: set[str] = set()
        for pattern, actions in mine.items():
            if pattern != "catalog" and fnmatch.fnmatchcase(name, pattern):
                granted |= actions
        given = [a for a in wanted.split(",") if a in granted or "*" in granted]
        if not given:
            return None
        return {"type": "repository", "name": name, "actions": given}

    def issue(self, user: str | None, service: str, scopes: list[str]) -> dict[str, Any]:
        now = int(time.time())
        access = [entry for scope in scopes if (entry := self.allowed(user, scope)) is not None]
        claims = {
            "iss": ISSUER,
            "sub": user or "",
            "aud": service,
            "exp": now + self.expires_in,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(12),
            "access": access,
        }
        token = self._signer.sign(claims)
        issued = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
        return {
            "token": token,
            "access_token": token,
            "expires_in": self.expires_in,
            "issued_at": issued.isoformat().replace("+00:00", "Z"),
        }


def _handler_for(server: TokenServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test records requests itself."""

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
            service = query.get("service", [""])[0] or None
            ok, user = server.authenticate(self.headers.get("Authorization"))
            if parts.path != "/token":
                status, body = 404, {"details": "not found"}
            elif not ok:
                status, body = 401, {"details": "incorrect username or password"}
            else:
                status, body = 200, server.issue(user, service or SERVICE, scopes)
            server.requests.append(TokenRequest(user, tuple(scopes), status, service))
            self._answer(status, body)

        def do_POST(self) -> None:
            """The OAuth2 refresh-token grant (Docker's identity tokens)."""
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            refresh = form.get("refresh_token", [""])[0]
            user = server.refresh_tokens.get(refresh)
            scopes = [s for value in form.get("scope", []) for s in value.split(" ") if s]
            service = form.get("service", [""])[0] or None
            grant = form.get("grant_type", [""])[0]
            if urlsplit(self.path).path != "/token" or grant != "refresh_token" or user is None:
                status, body = 401, {"details": "invalid refresh token"}
            else:
                status, body = 200, server.issue(user, service or SERVICE, scopes)
            server.requests.append(TokenRequest(user, tuple(scopes), status, service))
            self._answer(status, body)

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
