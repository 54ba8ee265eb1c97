"""Single sign-on pages: OpenID Connect, and what the login page offers."""

from __future__ import annotations

from typing import Any

from server.settings import get_settings


def login_options() -> dict[str, Any]:
    """Login page context: whether directory usernames are accepted, the SSO button."""
    settings = get_settings()
    return {
        "directory_login": bool(settings.ldap.url),
        "oidc_label": settings.oidc.label if settings.oidc.issuer else "",
    }
