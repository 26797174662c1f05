"""Tips: the cost of filing a tip, of a camera photo (checked, turned, resized, re-encoded) and of
the inbox list, against a bare authenticated read, in one process (Flask's test client).

    python tests/bench/bench_tips.py            # SQLite (a temporary file)
    TEST_DATABASE_URL=postgresql://app:app@127.0.0.1/<db> python tests/bench/bench_tips.py

The PostgreSQL database named in TEST_DATABASE_URL is wiped. Prints the median and p90 latency
of each call and its ratio to the bare read. Timing is reported, never asserted.
"""
from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "60"))
PHOTO_ROUNDS = int(os.environ.get("BENCH_PHOTO_ROUNDS", "15"))


def camera_jpeg() -> bytes:
    from PIL import Image
    image = Image.effect_noise((4000, 3000), 12).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def timed(call, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code < 400, (response.status_code, response.get_data(as_text=True)[:300])
    return times


def main() -> None:
    from sqlmodel import SQLModel

    from tests import factories
    from tests.conftest import _truncate_all
    from volunteer_app import create_app, db

    workdir = Path(tempfile.mkdtemp(prefix="bench-tips-"))
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{workdir}/bench.db"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "FAST_PASSWORD_HASH": True,
                      "INSTANCE_PATH": str(workdir / "instance")})
    engine = app.extensions["db_engine"]
    SQLModel.metadata.create_all(engine)
    if not url.startswith("sqlite"):
        _truncate_all(engine)
    with app.app_context(), db.unit_of_work(engine) as session:
        team = factories.team(session)
        coordinator = factories.coordinator(session, team)
        reporters = [factories.user(session, team=team) for _ in range(20)]
    api = factories.ApiClient(app)
    photo = camera_jpeg()
    counter = iter(range(10**9))

    def bare():
        return api.get("/api/v1/me", user=reporters[0])

    def file_tip():
        n = next(counter)
        return api.post("/api/v1/tips", user=reporters[n % 20],
                        json={"category": "hazard", "description": f"路灯坏了 {n}", "place": "学院路"})

    by_id = {user.id: user for user in reporters}

    def upload():
        tip = file_tip().get_json()
        return api.post(f"/api/v1/tips/{tip['id']}/photos", user=by_id[tip["reporter_id"]],
                        data={"file": (io.BytesIO(photo), "a.jpg", "image/jpeg")}, content_type="multipart/form-data")

    def inbox():
        return api.get("/api/v1/tips?limit=200", user=coordinator)

    for call in (bare, file_tip, inbox):  # warm up
        call()
    results = {
        "GET /me (bare)": timed(bare, ROUNDS),
        "POST /tips": timed(file_tip, ROUNDS),
        f"POST /tips + photo ({len(photo) // 1024} KB, 4000x3000)": timed(upload, PHOTO_ROUNDS),
        "GET /tips (coordinator, 200 newest)": timed(inbox, ROUNDS),
    }
    engine_name = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    base = statistics.median(results["GET /me (bare)"])
    print(f"engine: {engine_name}; rounds: {ROUNDS} ({PHOTO_ROUNDS} with photos)")
    for name, times in results.items():
        times.sort()
        median = statistics.median(times)
        p90 = times[int(len(times) * 0.9) - 1]
        print(f"{name:<52} median {median:7.1f} ms   p90 {p90:7.1f} ms   x{median / base:5.1f} of bare")


if __name__ == "__main__":
    main()
