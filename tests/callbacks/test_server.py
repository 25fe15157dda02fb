"""Flask-level glue: status codes, headers, health check."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from pathlib import Path

from dashapp.app import create_app
from dashapp.settings import Settings
from dashapp.web.server import request_limit


def test_sv001_pages_200_unknown_404(client) -> None:
    for path in ("/", "/data", "/training", "/compositor"):
        assert client.get(path).status_code == 200, path
    resp = client.get("/definitely/not/here")
    assert resp.status_code == 404
    assert b"_dash-app-content" in resp.data or b"react-entry-point" in resp.data


def test_sv002_security_headers(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, demo_rows=2_000, frame_ancestors=("'self'", "https://portal.example.com")
    )
    app = create_app(settings)
    resp = app.server.test_client().get("/data")
    csp = dict(d.strip().split(" ", 1) for d in resp.headers["Content-Security-Policy"].split(";"))
    assert csp["frame-ancestors"] == "'self' https://portal.example.com"
    # Scripts: our own files plus exactly the inline scripts Dash writes into the page.
    page = re.sub(r"<!--.*?-->", "", resp.get_data(as_text=True), flags=re.S)  # IE-only
    inline = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert inline
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp["script-src"]
    assert "unsafe-inline" not in csp["script-src"]
    assert "unsafe-eval" not in csp["script-src"]
    assert csp["object-src"] == "'none'"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    # Dash's dev tools are off outside `dashapp dev`.
    config = json.loads(
        re.search(
            r'id="_dash-config"[^>]*>(.*?)</script>', resp.get_data(as_text=True), re.S
        ).group(1)
    )
    assert config["ui"] is False
    assert config["props_check"] is False


def test_sv003_healthz_ok_then_503_when_database_missing(tmp_path: Path, client) -> None:
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {
        "status": "ok",
        "checks": {"database": "ok", "state": "ok", "data_dir": "ok", "cache": "ok"},
    }
    broken = Settings(
        data_dir=tmp_path / "b",
        database_url="postgresql://nobody@127.0.0.1:1/none",
    )
    resp = create_app(broken).server.test_client().get("/healthz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["status"] == "fail"
    assert body["checks"]["database"].startswith("unreachable")
    # A background-job cache that cannot be written is a failure too (a file where the
    # folder should be: unwritable even for root, who ignores permissions).
    app = create_app(Settings(data_dir=tmp_path / "c", demo_rows=2_000))
    cache = tmp_path / "c" / "cache"
    shutil.rmtree(cache)
    cache.write_text("not a folder")
    resp = app.server.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json()["checks"]["cache"].startswith("not writable")


def test_sv004_secret_key_is_shared_through_the_data_dir(settings: Settings) -> None:
    a = create_app(settings).server.secret_key
    b = create_app(settings).server.secret_key
    assert a == b
    assert len(a) > 40


def test_sv005_forged_callback_requests_get_a_clean_400(client, settings) -> None:
    import json

    for body in (
        {
            "output": "nope.children",
            "outputs": {"id": "nope", "property": "children"},
            "inputs": [],
            "changedPropIds": [],
        },
        {"output": "data-picker.options"},
        [1, 2, 3],
    ):
        resp = client.post(
            "/_dash-update-component", data=json.dumps(body), content_type="application/json"
        )
        assert resp.status_code == 400, body
        assert b"Traceback" not in resp.data
        assert resp.get_json() == {"error": "malformed callback request"}
    resp = client.post("/_dash-update-component", data="{not json", content_type="application/json")
    assert resp.status_code == 400
    # The limit follows the upload limit (25 MB in base64 plus the page state).
    limit = request_limit(settings)
    assert 25 * 1024 * 1024 * 4 // 3 < limit < 48 * 1024 * 1024
    big = client.post(
        "/_dash-update-component", data=b"x" * (limit + 1), content_type="application/json"
    )
    assert big.status_code == 413


def test_sv010_dev_tools_can_still_be_enabled(settings: Settings) -> None:
    """`dashapp dev` turns Dash's dev tools on after the factory: nothing may have served yet."""
    app = create_app(settings)
    assert app.enable_dev_tools(debug=True, dev_tools_hot_reload=False) is True
    assert app.server.test_client().get("/data").status_code == 200


def test_sv011_the_log_says_when_the_app_is_open(settings: Settings, caplog) -> None:
    from werkzeug.security import generate_password_hash

    with caplog.at_level("WARNING"):
        create_app(settings)
    assert any("dashapp is open" in r.getMessage() for r in caplog.records)
    caplog.clear()
    users = (("carol", generate_password_hash("right-horse")),)
    with caplog.at_level("WARNING"):
        create_app(settings.with_overrides(users=users))
    assert not any("dashapp is open" in r.getMessage() for r in caplog.records)
