"""What opening a poster costs a signed-in phone on a cold cache, up to the recorded check-in:
requests, round trips after the page, and bytes (as sent, and gzip-compressed as a compressing
proxy would send them). The numbers go to test-artifacts/e2e/poster-cost.txt and the README."""
from __future__ import annotations

import gzip

from .conftest import ARTIFACTS


def test_a_poster_costs_one_round_trip_after_the_page(new_page, live_server, journey):
    from volunteer_app.models import User
    from volunteer_app.services import checkpoints
    coordinator = live_server.make_user(roles=("coordinator", "volunteer"), team="计量队", team_role="coordinator")
    walker = live_server.make_user(team="计量队")
    with live_server.session() as session:
        token = checkpoints.token(checkpoints.create(session, session.get(User, coordinator.id), name="湖滨亭"))
    live_server.secrets.append(token)
    page = new_page(walker)
    page.goto("/profile")  # signed in; now a cold cache
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.clearBrowserCache")
    seen, cached = [], set()
    page.on("requestfinished", lambda request: seen.append(request))
    cdp.on("Network.requestServedFromCache", lambda event: cached.add(event["requestId"]))
    cdp.on("Network.responseReceived", lambda event: cached.add(event["requestId"])
           if event["response"].get("fromDiskCache") or event["response"].get("fromPrefetchCache") else None)
    urls = {}
    cdp.on("Network.requestWillBeSent", lambda event: urls.setdefault(event["requestId"], event["request"]["url"]))
    with journey.step("the poster's page", page, axe=False):
        page.goto(f"/c/{token}")
        page.wait_for_load_state("networkidle")
    on_open = list(seen)
    with journey.step("checked in", page, axe=False):
        page.locator("form.checkin-form button[type=submit]").click()
        page.locator(".result-ok").wait_for()
        page.wait_for_load_state("networkidle")
    from_cache = {urls[request_id] for request_id in cached if request_id in urls}
    seen = [request for request in seen if not (request in seen[len(on_open):] and request.url in from_cache)]
    after = seen[len(on_open):]
    rows, sent, zipped = [], 0, 0
    for request in seen:
        body = _body(request)
        headers = sum(len(k) + len(v) + 4 for k, v in request.response().headers.items()) if request.response() else 0
        size, small = len(body) + headers, len(gzip.compress(body, 6)) + headers
        sent, zipped = sent + size, zipped + small
        rows.append(f"{request.method} {request.url.replace(live_server.url, '').split('?')[0][:40]:40} {size:7} {small:7}"
                    f" {request.resource_type}")
    report = "\n".join([f"requests: {len(seen)} ({len(on_open)} for the page, {len(after)} after it)",
                        f"bytes: {sent} as sent, {zipped} gzip-compressed", *rows])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "poster-cost.txt").write_text(report + "\n")
    print(report)
    # One round trip after the page: the check-in itself (the browser's own favicon fetch, type
    # "other", is not waited on by anything).
    assert [request.method for request in after if request.resource_type != "other"] == ["POST"], report
    assert zipped < 60_000, report


def _body(request) -> bytes:
    """What the server sent for ``request``; a redirect's body is gone once the browser followed it."""
    from playwright.sync_api import Error

    response = request.response()
    if response is None:
        return b""
    try:
        return response.body()
    except Error:
        return b""
