"""A small OpenID Connect provider for the tests (outside the product), on loopback.

Discovery, JWKS, an authorization endpoint that signs in whoever the test chose, and a token
endpoint that checks the client, the redirect URI and the PKCE verifier. ``tamper`` makes it
misbehave on purpose (wrong nonce, foreign signature) so the tests see Guichet refuse it.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import uvicorn
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import RSAKey
from litestar import Litestar, Request, get, post
from litestar.response import Redirect, Response

from tests.ldap_server import free_port

CLIENT_ID = "guichet-tests"
CLIENT_SECRET = "client-secret-for-tests"


@dataclass
class Provider:
    port: int = field(default_factory=free_port)
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    # Who signs in at the next authorization request (claims of the ID token).
    person: dict[str, Any] = field(default_factory=dict)
    tamper: str = ""
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorization_requests: list[dict[str, str]] = field(default_factory=list)
    token_errors: list[str] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Litestar:
        provider = self

        @get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": provider.issuer,
                "authorization_endpoint": f"{provider.issuer}/authorize",
                "token_endpoint": f"{provider.issuer}/token",
                "jwks_uri": f"{provider.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }

        @get("/jwks")
        async def jwks() -> dict[str, Any]:
            return {"keys": [provider.key.as_dict(private=False)]}

        @get("/authorize")
        async def authorize(request: Request) -> Redirect:
            query = dict(request.query_params)
            provider.authorization_requests.append(query)
            code = secrets.token_urlsafe(16)
            provider.codes[code] = {**query, "person": dict(provider.person)}
            back = {"code": code, "state": query.get("state", "")}
            return Redirect(path=f"{query['redirect_uri']}?{urlencode(back)}", status_code=302)

        @post("/token")
        async def token(request: Request) -> Response[dict[str, Any]]:
            form = await request.form()
            grant = provider.codes.pop(str(form.get("code", "")), None)
            problem = provider._check(request, form, grant)
            if problem:
                provider.token_errors.append(problem)
                return Response({"error": "invalid_grant"}, status_code=400)
            assert grant is not None
            body = {"access_token": "opaque", "token_type": "Bearer"}
            return Response({**body, "id_token": provider._id_token(grant)}, status_code=200)

        return Litestar([discovery, jwks, authorize, token])

    def _check(self, request: Request, form: Any, grant: dict[str, Any] | None) -> str:
        import base64

        if grant is None:
            return "unknown code"
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return "client authentication"
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return "redirect_uri"
        verifier = str(form.get("code_verifier", ""))
        if grant.get("code_challenge_method") != "S256" or (
            create_s256_code_challenge(verifier) != grant.get("code_challenge")
        ):
            return "pkce"
        return ""

    def _id_token(self, grant: dict[str, Any]) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant.get("nonce", ""),
            **grant["person"],
        }
        key = self.key
        if self.tamper == "nonce":
            claims["nonce"] = "not-the-nonce"
        elif self.tamper == "audience":
            claims["aud"] = "another-client"
        elif self.tamper == "signature":
            key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)


class RunningProvider:
    """The provider served by uvicorn in a thread (its own event loop)."""

    def __init__(self) -> None:
        self.provider = Provider()
        config = uvicorn.Config(
            self.provider.app(), host="127.0.0.1", port=self.provider.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()))

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test OIDC provider did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
