"""One typed settings object, read from ``GUICHET_*`` environment variables.

This is the only module that reads the environment. See ``.env.example`` for every variable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    # Set-but-empty means "not set", as in .env files with blank values.
    return os.environ.get(f"GUICHET_{name}") or default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(f"GUICHET_{name}")
    return int(raw) if raw not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(f"GUICHET_{name}")
    if raw in (None, ""):
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class MailSettings:
    # Empty host: mails are written as files under ``var_dir/mail`` (no server needed).
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_tls: bool = False
    sender: str = "guichet@localhost"
    # Mails carry number, title, status and link only: health data stays behind the login.
    # A deployment may choose to include the description and follow-up text.
    include_details: bool = False
    # How often the dispatcher looks for mails to send, in seconds.
    poll_seconds: float = 1.0
    # While mails wait because the relay could not be reached, how often it is probed
    # (connect, EHLO, NOOP): the first answer makes them due at once, whatever their backoff.
    probe_seconds: float = 15.0
    # A dispatcher's claim on a batch lasts this long and is renewed while it works (a
    # heartbeat), so the claims of a process that died are taken over after this delay.
    claim_seconds: float = 60.0
    # Changes to one ticket within this many seconds reach each person as one mail listing
    # them (the acknowledgement of a new ticket goes at once). 0 sends each change alone.
    # Deployments get 180 s from the environment's default; built by hand (tests), it is off.
    digest_seconds: float = 0.0
    # Inbound SMTP receiver (replies and new tickets by mail): port 0 = off.
    inbound_host: str = "127.0.0.1"
    inbound_port: int = 0
    # Signs reply addresses (Reply-To of every notification); derived from the secret key
    # when not set.
    reply_secret: str = field(default="", repr=False)
    # Largest mail the receiver accepts, in bytes.
    inbound_max_bytes: int = 25 * 1024 * 1024
    # Or a mailbox read by IMAP (empty host: off). TLS is implicit (IMAPS, port 993); without
    # it (port 143) credentials travel in clear, so only on loopback or a trusted network.
    imap_host: str = ""
    imap_port: int = 993
    imap_user: str = ""
    imap_password: str = field(default="", repr=False)
    imap_tls: bool = True
    imap_folder: str = "INBOX"
    # Longest wait between two looks at the mailbox (IDLE is renewed this often; servers
    # without IDLE are polled at this rhythm).
    imap_poll_seconds: float = 60.0

    @property
    def receives_mail(self) -> bool:
        """Replies by mail reach Guichet (SMTP receiver or IMAP mailbox)."""
        return bool(self.inbound_port or self.imap_host)


@dataclass(frozen=True)
class LdapSettings:
    """LDAP / Active Directory login. Empty ``url``: off."""

    url: str = ""
    # Bind as the user: "uid={username},ou=people,dc=example,dc=org". When empty, search the
    # user under ``user_base`` with ``user_filter`` (as ``bind_dn`` when set), then bind as
    # the DN found.
    user_dn_template: str = ""
    bind_dn: str = ""
    bind_password: str = field(default="", repr=False)
    user_base: str = ""
    user_filter: str = "(|(uid={username})(mail={username}))"
    # Groups: searched under ``group_base`` with ``group_filter`` ({dn} = the user's DN);
    # without a base, the user's ``memberOf`` attribute (Active Directory) is read.
    group_base: str = ""
    group_filter: str = "(|(member={dn})(uniqueMember={dn}))"
    email_attribute: str = "mail"
    name_attribute: str = "cn"
    # An account matching this filter is refused (for example "(employeeType=disabled)").
    # Active Directory's userAccountControl "disabled" bit is always honoured.
    disabled_filter: str = ""
    start_tls: bool = False
    # Certificate authority of the directory's TLS certificate; empty: the system's.
    ca_file: str = ""
    timeout_seconds: float = 5.0


@dataclass(frozen=True)
class OidcSettings:
    """OpenID Connect login. Empty ``issuer``: off."""

    issuer: str = ""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    scopes: str = "openid email profile"
    # The claim listing the person's groups, mapped like directory groups.
    groups_claim: str = "groups"
    # Name on the login page button ("Sign in with ...").
    label: str = "OpenID Connect"
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = "http://127.0.0.1:8000"
    var_dir: Path = REPO_ROOT / "var"
    storage_dir: Path = REPO_ROOT / "var" / "attachments"
    default_locale: str = "fr"
    # Dates are shown in the user's zone, else their establishment's, else this one.
    default_timezone: str = "Europe/Paris"
    # Secure cookies need HTTPS; off only for plain-HTTP local runs.
    secure_cookies: bool = False
    session_hours: int = 12
    login_attempts_per_minute: int = 10
    # Argon2 costs; tests lower them (hashing is deliberately slow).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    db_pool: bool = True
    # Server processes of `guichet serve` (PostgreSQL only): one per core the server may use.
    workers: int = 1
    # Attachment limits, in bytes.
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_ticket_attachment_bytes: int = 50 * 1024 * 1024
    # Deployment identifier patterns for the PHI detector: JSON [["IPP", "regex"], ...].
    phi_patterns: tuple[tuple[str, str], ...] = ()
    # Live-update bus: "memory" (one process), or for several instances "postgres"
    # (LISTEN/NOTIFY) or "redis" (pub/sub on redis_url).
    channels: str = "memory"
    redis_url: str = field(default="redis://127.0.0.1:6379/0", repr=False)
    mail: MailSettings = field(default_factory=MailSettings)
    # Automatic rules (issue 7): how often the scheduler runs (0 = never), when a resolved
    # ticket closes by itself, when a pending ticket's requester gets a reminder.
    scheduler_seconds: float = 30.0
    auto_close_hours: float = 72.0
    pending_reminder_hours: float = 48.0
    # Directory and single sign-on (issue 18).
    ldap: LdapSettings = field(default_factory=LdapSettings)
    oidc: OidcSettings = field(default_factory=OidcSettings)
    # Directory group (DN, CN or OIDC group name) -> {"role", "groups", "establishments"}:
    # JSON, see the README. Applied to LDAP and OpenID Connect accounts at every login.
    directory_groups: dict[str, Any] = field(default_factory=dict)
    # Role of a directory account that matches no configured group.
    directory_default_role: str = "requester"
    # Operations: /metrics answers this bearer token, or loopback clients when it is empty.
    metrics_token: str = field(default="", repr=False)
    # Addresses of the reverse proxies whose X-Forwarded-For names the client (comma-separated,
    # "*" for any): login limits then count each client, not the proxy. Empty: none trusted.
    forwarded_allow_ips: str = ""
    # "text" (default) or "json": one JSON object per log line.
    log_format: str = "text"
    log_level: str = "INFO"

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def sqlite_path(self) -> Path:
        return Path(self.database_url.removeprefix("sqlite:///"))


def load_settings() -> Settings:
    var_dir = Path(_env("VAR_DIR", str(REPO_ROOT / "var")))
    port = _env_int("PORT", 8000)
    host = _env("HOST", "127.0.0.1")
    secret = _env("SECRET_KEY", "")
    if not secret:
        secret = _dev_secret(var_dir)
    return Settings(
        database_url=_env("DATABASE_URL", f"sqlite:///{var_dir / 'guichet.sqlite3'}"),
        secret_key=secret,
        host=host,
        port=port,
        base_url=_env("BASE_URL", f"http://{host}:{port}").rstrip("/"),
        var_dir=var_dir,
        storage_dir=Path(_env("STORAGE_DIR", str(var_dir / "attachments"))),
        default_locale=_env("DEFAULT_LOCALE", "fr"),
        default_timezone=_env("TIMEZONE", "Europe/Paris"),
        secure_cookies=_env_bool("SECURE_COOKIES", False),
        session_hours=_env_int("SESSION_HOURS", 12),
        login_attempts_per_minute=_env_int("LOGIN_ATTEMPTS_PER_MINUTE", 10),
        argon2_time_cost=_env_int("ARGON2_TIME_COST", 3),
        argon2_memory_kib=_env_int("ARGON2_MEMORY_KIB", 65536),
        db_pool=_env_bool("DB_POOL", True),
        workers=_env_int("WORKERS", 1),
        channels=_env("CHANNELS", "memory"),
        redis_url=_env("REDIS_URL", "redis://127.0.0.1:6379/0"),
        max_attachment_bytes=_env_int("MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024),
        max_ticket_attachment_bytes=_env_int("MAX_TICKET_ATTACHMENT_BYTES", 50 * 1024 * 1024),
        phi_patterns=tuple(
            (str(label), str(pattern)) for label, pattern in json.loads(_env("PHI_PATTERNS", "[]"))
        ),
        scheduler_seconds=float(_env("SCHEDULER_SECONDS", "30")),
        auto_close_hours=float(_env("AUTO_CLOSE_HOURS", "72")),
        pending_reminder_hours=float(_env("PENDING_REMINDER_HOURS", "48")),
        ldap=LdapSettings(
            url=_env("LDAP_URL", ""),
            user_dn_template=_env("LDAP_USER_DN_TEMPLATE", ""),
            bind_dn=_env("LDAP_BIND_DN", ""),
            bind_password=_env("LDAP_BIND_PASSWORD", ""),
            user_base=_env("LDAP_USER_BASE", ""),
            user_filter=_env("LDAP_USER_FILTER", "(|(uid={username})(mail={username}))"),
            group_base=_env("LDAP_GROUP_BASE", ""),
            group_filter=_env("LDAP_GROUP_FILTER", "(|(member={dn})(uniqueMember={dn}))"),
            email_attribute=_env("LDAP_EMAIL_ATTRIBUTE", "mail"),
            name_attribute=_env("LDAP_NAME_ATTRIBUTE", "cn"),
            disabled_filter=_env("LDAP_DISABLED_FILTER", ""),
            start_tls=_env_bool("LDAP_START_TLS", False),
            ca_file=_env("LDAP_CA_FILE", ""),
            timeout_seconds=float(_env("LDAP_TIMEOUT_SECONDS", "5")),
        ),
        oidc=OidcSettings(
            issuer=_env("OIDC_ISSUER", "").rstrip("/"),
            client_id=_env("OIDC_CLIENT_ID", ""),
            client_secret=_env("OIDC_CLIENT_SECRET", ""),
            scopes=_env("OIDC_SCOPES", "openid email profile"),
            groups_claim=_env("OIDC_GROUPS_CLAIM", "groups"),
            label=_env("OIDC_LABEL", "OpenID Connect"),
            timeout_seconds=float(_env("OIDC_TIMEOUT_SECONDS", "10")),
        ),
        directory_groups=json.loads(_env("DIRECTORY_GROUPS", "{}")),
        directory_default_role=_env("DIRECTORY_DEFAULT_ROLE", "requester"),
        metrics_token=_env("METRICS_TOKEN", ""),
        forwarded_allow_ips=_env("FORWARDED_ALLOW_IPS", ""),
        log_format=_env("LOG_FORMAT", "text"),
        log_level=_env("LOG_LEVEL", "INFO").upper(),
        mail=MailSettings(
            smtp_host=_env("SMTP_HOST", ""),
            smtp_port=_env_int("SMTP_PORT", 25),
            smtp_user=_env("SMTP_USER", ""),
            smtp_password=_env("SMTP_PASSWORD", ""),
            smtp_tls=_env_bool("SMTP_TLS", False),
            sender=_env("MAIL_SENDER", "guichet@localhost"),
            include_details=_env_bool("MAIL_INCLUDE_DETAILS", False),
            poll_seconds=float(_env("MAIL_POLL_SECONDS", "1")),
            probe_seconds=float(_env("MAIL_PROBE_SECONDS", "15")),
            claim_seconds=float(_env("MAIL_CLAIM_SECONDS", "60")),
            digest_seconds=float(_env("MAIL_DIGEST_SECONDS", "180")),
            inbound_host=_env("INBOUND_SMTP_HOST", "127.0.0.1"),
            inbound_port=_env_int("INBOUND_SMTP_PORT", 0),
            reply_secret=_env("REPLY_SECRET", "") or _derived(secret, "reply-address"),
            inbound_max_bytes=_env_int("INBOUND_MAX_BYTES", 25 * 1024 * 1024),
            imap_host=_env("IMAP_HOST", ""),
            imap_port=_env_int("IMAP_PORT", 993 if _env_bool("IMAP_TLS", True) else 143),
            imap_user=_env("IMAP_USER", ""),
            imap_password=_env("IMAP_PASSWORD", ""),
            imap_tls=_env_bool("IMAP_TLS", True),
            imap_folder=_env("IMAP_FOLDER", "INBOX"),
            imap_poll_seconds=float(_env("IMAP_POLL_SECONDS", "60")),
        ),
    )


def _derived(secret: str, purpose: str) -> str:
    """A key for one purpose, so a leak of one does not reveal the others."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def _dev_secret(var_dir: Path) -> str:
    """Without GUICHET_SECRET_KEY, keep a random key in var/ so sessions survive restarts."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def session_cookie_name() -> str:
    # The __Host- prefix pins the cookie to this host and path, and requires Secure.
    return "__Host-guichet_session" if get_settings().secure_cookies else "guichet_session"
