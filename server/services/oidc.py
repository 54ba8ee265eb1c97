"""OpenID Connect, authorization code flow with PKCE: discovery, token exchange, ID token check.

Authlib makes the PKCE challenge and the random values; joserfc (Authlib's JOSE library)
verifies the ID token's signature against the provider's published keys.
"""

from __future__ import annotations

import hmac
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from server.domain.directory import DirectoryIdentity
from server.domain.errors import GuichetError
from server.domain.text import N_
from server.settings import OidcSettings

log = logging.getLogger("guichet.oidc")

# Asymmetric signatures only: a shared-secret HS256 token could be made by anyone who knows
# the client secret.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
DISCOVERY_SECONDS = 3600.0
CLOCK_SKEW_SECONDS = 60


class OidcUnavailable(GuichetError):
    message = N_("The identity provider cannot be reached: try again in a moment.")


class OidcRefused(GuichetError):
    message = N_("Sign-in with the identity provider failed: please try again.")


@dataclass(frozen=True, slots=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass(frozen=True, slots=True)
class Flow:
    """What the browser keeps (signed) between leaving for the provider and coming back."""

    state: str
    nonce: str
    verifier: str
    next: str


_providers: dict[str, tuple[float, Provider]] = {}
_keys: dict[str, KeySet] = {}


async def _get_json(url: str, cfg: OidcSettings) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=cfg.timeout_seconds) as client:
            response = await client.get(url)
            response.raise_for_status()
            return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("identity provider unavailable (%s): %s", url, exc)
        raise OidcUnavailable() from exc


async def discover(cfg: OidcSettings) -> Provider:
    """The provider's endpoints from its discovery document, kept for an hour."""
    cached = _providers.get(cfg.issuer)
    if cached and time.monotonic() - cached[0] < DISCOVERY_SECONDS:
        return cached[1]
    doc = await _get_json(f"{cfg.issuer}/.well-known/openid-configuration", cfg)
    if doc.get("issuer", "").rstrip("/") != cfg.issuer:
        log.error("discovery document names another issuer: %s", doc.get("issuer"))
        raise OidcUnavailable()
    try:
        provider = Provider(
            issuer=doc["issuer"],
            authorization_endpoint=doc["authorization_endpoint"],
            token_endpoint=doc["token_endpoint"],
            jwks_uri=doc["jwks_uri"],
        )
    except KeyError as exc:
        raise OidcUnavailable() from exc
    _providers[cfg.issuer] = (time.monotonic(), provider)
    return provider


def start(
    cfg: OidcSettings, provider: Provider, redirect_uri: str, target: str
) -> tuple[str, Flow]:
    """The provider's authorization URL, and the flow to keep until the browser returns."""
    flow = Flow(
        state=generate_token(32), nonce=generate_token(32), verifier=generate_token(64), next=target
    )
    query = {
        "response_type": "code",
        "client_id": cfg.client_id,
        "redirect_uri": redirect_uri,
        "scope": cfg.scopes,
        "state": flow.state,
        "nonce": flow.nonce,
        "code_challenge": create_s256_code_challenge(flow.verifier),
        "code_challenge_method": "S256",
    }
    separator = "&" if "?" in provider.authorization_endpoint else "?"
    return f"{provider.authorization_endpoint}{separator}{urlencode(query)}", flow


async def finish(
    cfg: OidcSettings,
    provider: Provider,
    flow: Flow,
    *,
    code: str,
    state: str,
    redirect_uri: str,
) -> DirectoryIdentity:
    """Check the state, exchange the code (with the PKCE verifier), verify the ID token."""
    if not state or not hmac.compare_digest(state, flow.state):
        raise OidcRefused()
    if not code:
        raise OidcRefused()
    try:
        async with httpx.AsyncClient(timeout=cfg.timeout_seconds) as client:
            response = await client.post(
                provider.token_endpoint,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "code_verifier": flow.verifier,
                },
                auth=(cfg.client_id, cfg.client_secret),
                headers={"accept": "application/json"},
            )
    except httpx.HTTPError as exc:
        raise OidcUnavailable() from exc
    if response.status_code != 200:
        log.warning(
            "token endpoint refused the code: %s %s", response.status_code, response.text[:200]
        )
        raise OidcRefused()
    try:
        id_token = str(response.json()["id_token"])
    except (ValueError, KeyError) as exc:
        raise OidcRefused() from exc
    claims = await verify_id_token(cfg, provider, id_token, flow.nonce)
    return identity_from_claims(cfg, provider, claims)


async def _key_set(cfg: OidcSettings, provider: Provider, refresh: bool) -> KeySet:
    if refresh or provider.jwks_uri not in _keys:
        _keys[provider.jwks_uri] = KeySet.import_key_set(await _get_json(provider.jwks_uri, cfg))
    return _keys[provider.jwks_uri]


async def verify_id_token(
    cfg: OidcSettings, provider: Provider, id_token: str, nonce: str
) -> dict[str, Any]:
    """Signature, issuer, audience, expiry and nonce; keys are re-read once on a miss
    (the provider rotated them)."""
    token = None
    for refresh in (False, True):
        keys = await _key_set(cfg, provider, refresh)
        try:
            token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
            break
        except JoseError as exc:
            log.warning("ID token refused: %s", exc)
        except ValueError as exc:  # malformed token, or no key with this kid
            log.warning("ID token refused: %s", exc)
    if token is None:
        raise OidcRefused()
    claims = token.claims
    registry = jwt.JWTClaimsRegistry(
        now=int(time.time()),
        leeway=CLOCK_SKEW_SECONDS,
        iss={"essential": True, "value": provider.issuer},
        sub={"essential": True},
        exp={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        log.warning("ID token claims refused: %s", exc)
        raise OidcRefused() from exc
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if cfg.client_id not in audiences:
        raise OidcRefused()
    if len(audiences) > 1 and claims.get("azp") != cfg.client_id:
        raise OidcRefused()
    return claims


def identity_from_claims(
    cfg: OidcSettings, provider: Provider, claims: dict[str, Any]
) -> DirectoryIdentity:
    groups = claims.get(cfg.groups_claim) or []
    if isinstance(groups, str):
        groups = [groups]
    email = str(claims.get("email", "")).strip().lower()
    name = str(
        claims.get("name")
        or " ".join(str(claims.get(k, "")) for k in ("given_name", "family_name"))
    ).strip()
    return DirectoryIdentity(
        provider="oidc",
        subject=f"{provider.issuer}#{claims['sub']}",
        email=email,
        full_name=name or email,
        memberships=tuple(str(g) for g in groups),
        # Only a verified address may link an account that already exists.
        email_trusted=claims.get("email_verified") is True,
    )


def forget_provider_cache() -> None:
    """Tests start providers on new ports; a deployment never needs this."""
    _providers.clear()
    _keys.clear()
