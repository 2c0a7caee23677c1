"""The one token of the web dashboard and HTTP API (DESIGN: `MEMO_HTTP_TOKEN` if set, else generated once and kept
private in this machine's secret store: the keyring when one works, else `<data dir>/secrets.json`, mode 0600)."""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets as token_bytes
from dataclasses import dataclass

from memo_desktop.core.config import Settings
from memo_desktop.core.errors import ConfigError
from memo_desktop.core.secrets import ENVIRONMENT_VARIABLES, HTTP_TOKEN, get_secret, set_secret

TOKEN_ENV = ENVIRONMENT_VARIABLES[HTTP_TOKEN]
MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class HttpToken:
    value: str
    explicit: bool  # set by MEMO_HTTP_TOKEN (a deliberate choice), not generated here

    def matches(self, candidate: str | None) -> bool:
        """Constant-time comparison (a timing side channel must not reveal the token byte by byte)."""
        return candidate is not None and hmac.compare_digest(candidate.encode(), self.value.encode())


def load_token(settings: Settings) -> HttpToken:
    explicit = os.environ.get(TOKEN_ENV, "")
    if explicit:
        if len(explicit) < MIN_TOKEN_LENGTH:
            raise ConfigError(f"{TOKEN_ENV} must be at least {MIN_TOKEN_LENGTH} characters long")
        return HttpToken(explicit, True)
    stored = get_secret(settings, HTTP_TOKEN)
    if not stored:
        stored = token_bytes.token_urlsafe(32)
        set_secret(settings, HTTP_TOKEN, stored)
    return HttpToken(stored, False)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: HttpToken) -> None:
    """A server reachable from other machines only with a token someone chose on purpose (DESIGN)."""
    if not is_loopback(host) and not token.explicit:
        raise ConfigError(f"refusing to listen on {host}, which other machines can reach, with a generated token: "
                          f"set {TOKEN_ENV} to a secret of your choice (or listen on 127.0.0.1)")
