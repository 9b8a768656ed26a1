"""Optional access control, checked before anything from the database is read or shown.

- Password: ``st.secrets["password"]`` or the env var ``REDTEAM_RISK_PASSWORD``. Compared with
  ``hmac.compare_digest``; wrong attempts are rate-limited per client address and per session; the
  password is never logged or kept in session state.
- OIDC: an ``[auth]`` section in ``.streamlit/secrets.toml`` switches on ``st.login`` / ``st.user``.
When both are configured, both are required. With neither, the dashboard is open (bind it to 127.0.0.1).
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from dashboard.safety import escape_markdown
from etl.errors import UserError

log = logging.getLogger("redteam_risk.dashboard")

PASSWORD_ENV = "REDTEAM_RISK_PASSWORD"
MAX_FAILURES = 5  # wrong passwords allowed per window before a lockout
WINDOW_SECONDS = 60.0
LOCKOUT_SECONDS = 60.0
_SESSION_KEY = "_redteam_risk_authenticated"


class AccessConfigError(UserError):
    """Access control is configured in a way that cannot be read; the dashboard stays locked."""


def _secret(name: str):
    try:
        return st.secrets.get(name)
    except StreamlitSecretNotFoundError as exc:
        # No secrets file means "not configured"; a broken one might hide a password, so fail closed.
        if "pars" in str(exc).lower():
            raise AccessConfigError("The secrets file (.streamlit/secrets.toml) cannot be parsed, so the "
                                    "dashboard stays locked; fix the file and reload.") from None
        return None


def configured_password() -> str | None:
    """The dashboard password from secrets or the environment, or None when the dashboard is open."""
    value = _secret("password") or os.environ.get(PASSWORD_ENV)
    return str(value) if value else None


def oidc_configured() -> bool:
    return bool(_secret("auth"))


@dataclass
class _Limiter:
    """Failure timestamps per key (client address or session); process-wide so a reload does not reset it."""

    failures: dict[str, deque] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def locked_for(self, keys: list[str], now: float) -> float:
        """Seconds until ``keys`` may try again (0 = now)."""
        with self.lock:
            wait = 0.0
            for key in keys:
                times = self.failures.get(key)
                if not times:
                    continue
                while times and now - times[0] > WINDOW_SECONDS + LOCKOUT_SECONDS:
                    times.popleft()
                recent = [t for t in times if now - t <= WINDOW_SECONDS]
                if len(recent) >= MAX_FAILURES:
                    wait = max(wait, recent[-1] + LOCKOUT_SECONDS - now)
            return max(wait, 0.0)

    def fail(self, keys: list[str], now: float) -> None:
        with self.lock:
            for key in keys:
                self.failures.setdefault(key, deque(maxlen=100)).append(now)

    def clear(self, keys: list[str]) -> None:
        with self.lock:
            for key in keys:
                self.failures.pop(key, None)


@st.cache_resource(show_spinner=False)
def _limiter() -> _Limiter:
    return _Limiter()


def _client_keys() -> list[str]:
    session = st.session_state.setdefault("_redteam_risk_session_key", os.urandom(8).hex())
    try:
        ip = st.context.ip_address
    except (AttributeError, RuntimeError):  # no client context (bare script runs)
        ip = None
    return [f"ip:{ip or 'local'}", f"session:{session}"]


def check_password(candidate: str, expected: str) -> bool:
    """Constant-time comparison of two passwords (UTF-8 bytes)."""
    return hmac.compare_digest(candidate.encode("utf-8"), expected.encode("utf-8"))


def require_access() -> bool:
    """Render the sign-in UI when access control is on and the session has not passed it.

    Returns True when the session may see data. Callers must not read the database when it is False.
    """
    try:
        oidc = oidc_configured()
        expected = configured_password()
    except AccessConfigError as exc:
        st.title("Red-team risk dashboard")
        st.error(escape_markdown(exc))
        return False
    if oidc and not _oidc_gate():
        return False
    if expected is None or st.session_state.get(_SESSION_KEY):
        return True
    return _password_gate(expected)


def _oidc_gate() -> bool:
    if st.user.is_logged_in:
        with st.sidebar:
            st.caption(f"Signed in as {escape_markdown(st.user.get('email') or st.user.get('name') or 'user')}")
            if st.button("Log out"):
                st.logout()
        return True
    st.title("Red-team risk dashboard")
    st.info("Sign in to see the data.")
    if st.button("Log in"):
        st.login()
    return False


def _password_gate(expected: str) -> bool:
    st.title("Red-team risk dashboard")
    keys = _client_keys()
    limiter = _limiter()
    wait = limiter.locked_for(keys, time.monotonic())
    with st.form("password_form", clear_on_submit=True):
        candidate = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Enter")
    if wait > 0:
        st.error(f"Too many wrong passwords. Try again in {int(wait) + 1} s.")
        return False
    if not submitted:
        st.info("This dashboard is password protected.")
        return False
    if check_password(candidate or "", expected):
        limiter.clear([keys[1]])
        st.session_state[_SESSION_KEY] = True
        st.rerun()
    limiter.fail(keys, time.monotonic())
    log.warning("dashboard: wrong password attempt from %s", keys[0])
    st.error("Wrong password.")
    return False
