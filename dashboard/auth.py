"""Optional access control, checked before anything from the database is read or shown.

- Password: ``st.secrets["password"]`` or the env var ``REDTEAM_RISK_PASSWORD``. Compared with
  ``hmac.compare_digest``; wrong attempts are rate-limited per client address and per session; the
  password is never logged or kept in session state.
- OIDC: an ``[auth]`` section in ``.streamlit/secrets.toml`` switches on ``st.login`` / ``st.user``.
When both are configured, both are required. With neither, the dashboard is open (bind it to 127.0.0.1).

Roles: viewers read, editors change annotations (``current_user`` / ``can_edit``).
- OIDC: the signed-in e-mail is the user; editors are listed in ``[roles] editors = ["a@example.org", …]``
  (compared case-insensitively). Everyone else who signs in is a viewer.
- Password (without OIDC): ``password`` signs in as "viewer", ``editor_password`` (or the env var
  ``REDTEAM_RISK_EDITOR_PASSWORD``) as "editor". Either password opens the dashboard.
- Neither: the local single user ("local") may edit, unless ``[roles] local_editing = false``.
Every write path calls ``require_edit`` (server side), not only the code that draws the widgets.
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
EDITOR_PASSWORD_ENV = "REDTEAM_RISK_EDITOR_PASSWORD"
LOCAL_USER = "local"
EDITOR, VIEWER = "editor", "viewer"
MAX_FAILURES = 5  # wrong passwords allowed per window before a lockout
WINDOW_SECONDS = 60.0
LOCKOUT_SECONDS = 60.0
_SESSION_KEY = "_redteam_risk_authenticated"  # the password role of the session: "editor" or "viewer"
_NAME_KEY = "_redteam_risk_signed_name"  # the name given at a password sign-in, for the change history
MAX_NAME = 80


class AccessConfigError(UserError):
    """Access control is configured in a way that cannot be read; the dashboard stays locked."""


class NotAllowed(UserError):
    """A write was asked for by a session without the editor role."""


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


def configured_editor_password() -> str | None:
    """The editor password from secrets or the environment, or None."""
    value = _secret("editor_password") or os.environ.get(EDITOR_PASSWORD_ENV)
    return str(value) if value else None


def oidc_configured() -> bool:
    return bool(_secret("auth"))


def access_configured() -> bool:
    """Whether any access control (a password, an editor password or OIDC) is configured."""
    return bool(configured_password() or configured_editor_password() or oidc_configured())


def _roles() -> dict:
    roles = _secret("roles") or {}
    if not hasattr(roles, "get"):
        raise AccessConfigError("[roles] in .streamlit/secrets.toml must be a table, e.g. "
                                '[roles] editors = ["analyst@example.org"].')
    return roles


def editor_emails() -> frozenset[str]:
    """``[roles] editors`` as lower-case e-mail addresses (OIDC)."""
    editors = _roles().get("editors") or []
    if isinstance(editors, str) or not all(isinstance(e, str) for e in editors):
        raise AccessConfigError('[roles] editors in .streamlit/secrets.toml must be a list of e-mail addresses, '
                                'e.g. editors = ["analyst@example.org"].')
    return frozenset(e.strip().lower() for e in editors if e.strip())


def _oidc_email() -> str | None:
    if not st.user.is_logged_in:
        return None
    email = st.user.get("email")
    return str(email) if email else None


def current_user() -> str:
    """Who this session is, for the history: the OIDC e-mail (or name); after a password sign-in the name the
    user gave with the role, "Ana (editor)", or the role alone; "local" when no access control is configured."""
    if oidc_configured():
        if not st.user.is_logged_in:
            return "anonymous"
        return _oidc_email() or str(st.user.get("name") or st.user.get("sub") or "unknown")
    if configured_password() or configured_editor_password():
        role = st.session_state.get(_SESSION_KEY)
        if role not in (EDITOR, VIEWER):
            return "anonymous"
        name = st.session_state.get(_NAME_KEY)
        return f"{name} ({role})" if name else role
    return LOCAL_USER


def can_edit() -> bool:
    """Whether this session may change annotations (see the module docstring). Fails closed: a broken
    secrets file or an unknown session is never an editor."""
    try:
        if oidc_configured():
            email = _oidc_email()
            if email is None or st.user.get("email_verified") is False:  # an unverified address proves nothing
                return False
            return email.strip().lower() in editor_emails()
        if configured_password() or configured_editor_password():
            # the role was granted at sign-in; it lapses if the editor password is removed meanwhile
            return st.session_state.get(_SESSION_KEY) == EDITOR and configured_editor_password() is not None
        return _roles().get("local_editing", True) is True  # anything but true/absent: read-only
    except AccessConfigError:
        return False


def role_label() -> str:
    """One line for the sidebar: who is signed in and whether they may edit (markdown-escaped)."""
    return f"{escape_markdown(current_user())} · {'editor' if can_edit() else 'viewer (read only)'}"


def require_edit() -> str:
    """The user to record for a write; raises ``NotAllowed`` unless the session has the editor role."""
    if not can_edit():
        raise NotAllowed("Only editors can change annotations; this session may only read.")
    return current_user()


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
        editor = configured_editor_password()
        editor_emails()  # a malformed [roles] table locks the dashboard like a malformed secrets file
    except AccessConfigError as exc:
        st.title("Red-team risk dashboard")
        st.error(escape_markdown(exc))
        return False
    if oidc and not _oidc_gate():
        return False
    if (expected is None and editor is None) or st.session_state.get(_SESSION_KEY) in (EDITOR, VIEWER):
        return True
    return _password_gate(expected, editor)  # with OIDC too: both are needed (the e-mail decides the role)


def _oidc_gate() -> bool:
    if st.user.is_logged_in:
        with st.sidebar:  # app.py names the user and the role in the sidebar once the database is open
            if st.button("Log out"):
                st.logout()
        return True
    st.title("Red-team risk dashboard")
    st.info("Sign in to see the data.")
    if st.button("Log in"):
        st.login()
    return False


def _password_gate(expected: str | None, editor: str | None) -> bool:
    st.title("Red-team risk dashboard")
    keys = _client_keys()
    limiter = _limiter()
    wait = limiter.locked_for(keys, time.monotonic())
    with st.form("password_form", clear_on_submit=True):
        candidate = st.text_input("Password", type="password")
        name = st.text_input("Your name (optional)", max_chars=MAX_NAME,
                             help="Recorded with every change you make, in the History page. A shared password "
                                  "says nothing about who made a change.")
        submitted = st.form_submit_button("Enter")
    if wait > 0:
        st.error(f"Too many wrong passwords. Try again in {int(wait) + 1} s.")
        return False
    if not submitted:
        st.info("This dashboard is password protected.")
        return False
    # both comparisons always run, so the time taken does not tell which password was tried
    is_editor = editor is not None and check_password(candidate or "", editor)
    is_viewer = expected is not None and check_password(candidate or "", expected)
    if is_editor or is_viewer:
        limiter.clear([keys[1]])
        st.session_state[_SESSION_KEY] = EDITOR if is_editor else VIEWER
        st.session_state[_NAME_KEY] = " ".join(str(name or "").split())[:MAX_NAME] or None
        st.rerun()
    limiter.fail(keys, time.monotonic())
    log.warning("dashboard: wrong password attempt from %s", keys[0])
    st.error("Wrong password.")
    return False
