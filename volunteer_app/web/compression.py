"""Text answers of the pages (pages, partials, our CSS and JavaScript) go out gzip-compressed to
a browser that accepts it: on a weak signal a page of 40 KB arrives as 8. The JSON API answers
as API.md says, uncompressed."""
from __future__ import annotations

import gzip

from flask import Flask, Response, request

COMPRESSIBLE = frozenset({
    "text/html", "text/css", "text/javascript", "application/javascript", "application/json",
    "application/problem+json", "application/manifest+json", "image/svg+xml", "text/calendar", "text/csv",
    "text/plain",
})
#: Smaller answers fit in a packet or two anyway; larger ones (a long export) are not held in memory twice.
MIN_BYTES = 1024
MAX_BYTES = 4 * 1024 * 1024


def compressible(response: Response) -> bool:
    if request.path.startswith("/api/") or request.method == "HEAD" or response.status_code < 200 or response.status_code in (204, 206, 304):
        return False
    if response.mimetype not in COMPRESSIBLE or "Content-Encoding" in response.headers:
        return False
    if response.is_streamed and not response.direct_passthrough:
        return False  # a generator (an export streamed as it is read): left alone
    length = response.content_length
    if length is not None and not MIN_BYTES <= length <= MAX_BYTES:
        return False
    return "gzip" in request.accept_encodings


def compress(response: Response) -> Response:
    """``response``, gzip-compressed when the browser takes it and it is worth it."""
    if not compressible(response):
        return response
    response.direct_passthrough = False  # a static file: read it now
    body = response.get_data()
    if not MIN_BYTES <= len(body) <= MAX_BYTES:
        return response
    response.set_data(gzip.compress(body, compresslevel=6, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)  # the same content, another encoding of it
    return response


def init_app(app: Flask) -> None:
    """Register first: ``after_request`` functions run last-registered first, so this one sees
    the answer with every other header already set."""
    app.after_request(compress)
