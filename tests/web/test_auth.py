"""The token on every request, the dashboard link's cookie, foreign origins refused, and binds that need a chosen
token: against the real server (uvicorn in the runtime's thread)."""

from __future__ import annotations

import pytest

from memo_desktop.core.errors import ConfigError
from memo_desktop.core.http_token import HttpToken, check_bind, load_token
from tests.fixtures.web import TOKEN


@pytest.mark.parametrize("path", ["/api/queue/health", "/api/queue/jobs", "/metrics", "/openapi.json",
                                  "/api/webhooks", "/api/queue/events"])
def test_every_api_path_needs_the_token_and_answers_json(web, path):
    for token in (None, "wrong", TOKEN[:-1], TOKEN + "x", ""):
        response = web.client(token=token).get(path)
        assert response.status_code == 401, (path, token)
        assert response.json()["success"] is False and "token" in response.json()["error"]
    if path != "/api/queue/events":  # a stream; its own test reads it
        assert web.client().get(path).status_code == 200


def test_the_page_without_the_token_explains_how_to_sign_in(web):
    response = web.client(token=None).get("/queue")
    assert response.status_code == 401 and "text/html" in response.headers["content-type"]
    assert "token" in response.text
    assert web.client(token=None).get("/queue?token=nope").status_code == 401


def test_the_dashboard_link_sets_a_strict_http_only_cookie_and_drops_the_token_from_the_url(web):
    client = web.client(token=None)
    response = client.get(f"/queue?token={TOKEN}")
    assert response.status_code == 303
    assert response.headers["location"] == "/queue"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and f"={TOKEN}" in cookie
    followed = client.get("/queue")  # the cookie alone now
    assert followed.status_code == 200 and "memo-desktop queue" in followed.text
    assert "content-security-policy" in followed.headers
    assert client.get("/api/queue/health").status_code == 200


def test_state_changes_from_another_site_are_refused(web):
    web.ctx.jobs.pause("file-process")
    for headers in ({"origin": "http://evil.example"}, {"sec-fetch-site": "cross-site"},
                    {"sec-fetch-site": "same-site"}, {"origin": "null"}):
        response = web.client(**headers).post("/api/queue/file-process/resume")
        assert response.status_code == 403, headers
        assert response.json() == {"success": False, "error": "refused: this request came from another site"}
    assert "file-process" in web.ctx.jobs.paused_queues()  # nothing happened
    same = web.client(origin=web.base, **{"sec-fetch-site": "same-origin"}).post("/api/queue/file-process/resume")
    assert same.status_code == 200 and "file-process" not in web.ctx.jobs.paused_queues()
    # reads stay possible from anywhere with the token (it is the token that protects them)
    assert web.client(origin="http://evil.example").get("/api/queue/health").status_code == 200


def test_a_server_other_machines_can_reach_needs_a_token_chosen_on_purpose(settings, monkeypatch):
    generated = HttpToken("g" * 32, explicit=False)
    with pytest.raises(ConfigError, match="MEMO_HTTP_TOKEN"):
        check_bind("0.0.0.0", generated)
    check_bind("127.0.0.1", generated)
    check_bind("::1", generated)
    check_bind("0.0.0.0", HttpToken("c" * 32, explicit=True))
    monkeypatch.setenv("MEMO_HTTP_TOKEN", "short")
    with pytest.raises(ConfigError, match="at least 16"):
        load_token(settings)


def test_a_generated_token_is_kept_privately_and_reused(settings, monkeypatch):
    import keyring
    import keyring.backends.fail

    # a machine without a keyring (like these): the private file (a test module's keyring class may be the default)
    monkeypatch.setattr(keyring, "get_keyring", lambda: keyring.backends.fail.Keyring())
    first = load_token(settings)
    assert not first.explicit and len(first.value) >= 32
    assert load_token(settings).value == first.value
    secrets_file = settings.data_dir / "secrets.json"
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    assert first.matches(first.value) and not first.matches(first.value[:-1]) and not first.matches(None)
