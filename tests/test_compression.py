"""The pages' text answers go out gzip-compressed to a browser that accepts it (a weak signal
waits for fewer bytes); the same answer without compression to one that does not; small
answers, pictures and answers without a body are left alone, and so is the JSON API."""
from __future__ import annotations

import gzip

from .conftest import csrf_token

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


def test_a_page_goes_out_compressed_to_a_browser_that_takes_gzip(client):
    plain = client.get("/login")
    packed = client.get("/login", headers=GZIP)
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    partial = client.get("/login", headers={**GZIP, "HX-Request": "true"})
    assert {"HX-Request", "Accept-Encoding"} <= {word.strip() for word in partial.headers["Vary"].split(",")}
    body = gzip.decompress(packed.data).decode()
    assert '<form' in body and len(packed.data) < len(body.encode()) / 2
    assert packed.headers["Content-Security-Policy"] == plain.headers["Content-Security-Policy"]


def test_static_text_is_compressed_and_pictures_are_not(client):
    page = client.get("/login").get_data(as_text=True)
    css = page[page.index("/static/css/app.css"):].split('"')[0].replace("&amp;", "&")
    styled = client.get(css, headers=GZIP)
    assert styled.headers["Content-Encoding"] == "gzip" and b".btn" in gzip.decompress(styled.data)
    assert styled.headers["Cache-Control"].startswith("public")
    etag = styled.headers.get("ETag")
    assert etag is None or etag.startswith("W/")
    icon = client.get("/static/icons/apple-touch-icon.png", headers=GZIP)
    assert icon.status_code == 200 and "Content-Encoding" not in icon.headers


def test_small_and_empty_answers_are_left_alone(client):
    health = client.get("/healthz", headers=GZIP)
    assert health.status_code == 200 and "Content-Encoding" not in health.headers
    token = csrf_token(client)
    moved = client.post("/login", data={"csrf_token": token, "username": "nobody", "password": "x"}, headers=GZIP)
    assert moved.status_code != 500
    head = client.head("/login", headers=GZIP)
    assert "Content-Encoding" not in head.headers


def test_the_api_answers_uncompressed(client):
    spec = client.get("/api/v1/openapi.json", headers=GZIP)
    assert spec.status_code == 200 and len(spec.data) > 1024
    assert "Content-Encoding" not in spec.headers and spec.get_json()["openapi"]
