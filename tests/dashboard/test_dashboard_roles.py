"""Roles: viewers read, editors change (dashboard/auth.py), for each way access can be configured."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.test_dashboard_app import plain

OIDC = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32, "client_id": "id",
        "client_secret": "secret", "server_metadata_url": "https://id.example.invalid/.well-known/openid-configuration"}


def signed_in_as(at: AppTest) -> str:
    return next(plain(c.value) for c in at.sidebar.caption if c.value.startswith("Signed in as"))


def sign_in(at: AppTest, password: str) -> AppTest:
    at.run()
    at.text_input[0].input(password)
    at.button[0].click().run()
    assert not at.exception
    return at


def test_without_access_control_the_local_user_edits(app):
    at = app()
    at.run()
    assert signed_in_as(at) == "Signed in as local · editor"


def test_local_editing_can_be_switched_off(app, fresh_resources):
    at = app()
    at.secrets["roles"] = {"local_editing": False}
    at.run()
    assert signed_in_as(at) == "Signed in as local · viewer (read only)"


def test_password_gives_viewer_and_editor_password_gives_editor(app, monkeypatch, fresh_resources):
    monkeypatch.setenv("REDTEAM_RISK_PASSWORD", "view pass")
    monkeypatch.setenv("REDTEAM_RISK_EDITOR_PASSWORD", "edit pass")
    assert signed_in_as(sign_in(app(), "view pass")) == "Signed in as viewer · viewer (read only)"
    assert signed_in_as(sign_in(app(), "edit pass")) == "Signed in as editor · editor"


def test_editor_password_from_secrets_alone_locks_the_dashboard(app, fresh_resources):
    at = app()
    at.secrets["editor_password"] = "edit pass"
    at.run()
    assert not at.metric  # only editors get in: there is no viewer password
    at.text_input[0].input("edit pass")
    at.button[0].click().run()
    assert signed_in_as(at) == "Signed in as editor · editor"


@pytest.mark.parametrize(("email", "role"), [("Lead@Example.org", "editor"), ("reader@example.org",
                                                                               "viewer (read only)")])
def test_oidc_editors_are_listed_by_e_mail(app, fresh_resources, email, role):
    at = app()
    at.secrets["auth"] = OIDC
    at.secrets["roles"] = {"editors": ["lead@example.org"]}
    at.user = {"is_logged_in": True, "email": email}
    at.run()
    assert signed_in_as(at) == f"Signed in as {email} · {role}"


def test_an_unverified_oidc_e_mail_is_not_an_editor(app, fresh_resources):
    at = app()
    at.secrets["auth"] = OIDC
    at.secrets["roles"] = {"editors": ["lead@example.org"]}
    at.user = {"is_logged_in": True, "email": "lead@example.org", "email_verified": False}
    at.run()
    assert signed_in_as(at).endswith("viewer (read only)")


def test_oidc_without_an_editor_list_makes_everyone_a_viewer(app, fresh_resources):
    at = app()
    at.secrets["auth"] = OIDC
    at.user = {"is_logged_in": True, "email": "lead@example.org"}
    at.run()
    assert signed_in_as(at).endswith("viewer (read only)")


def test_a_malformed_editor_list_locks_the_dashboard(app, fresh_resources):
    at = app()
    at.secrets["auth"] = OIDC
    at.secrets["roles"] = {"editors": "lead@example.org"}  # a string, not a list
    at.user = {"is_logged_in": True, "email": "lead@example.org"}
    at.run()
    assert not at.exception and not at.metric
    assert "must be a list of e-mail addresses" in plain(at.error[0].value)
