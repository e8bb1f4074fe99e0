"""Preview latency over real HTTP (not a test): a cold render of the demo T-shirt, then cached answers.

Starts ``customshop demo`` in a throw-away folder (embedded SQLite, previews rendered in process),
designs the demo T-shirt (text, a 1200×1200 photo, body colour, size), and measures:

* cold: from ``POST /sessions/{id}/preview`` to the job reported ``done`` (render + storage + polling);
* cached: ``POST /sessions/{id}/preview`` of the same design again (answered from the first render);
* cached: ``GET /previews/{job_id}`` and ``GET /previews/{job_id}/image``.

Run: ``.venv/bin/python bench/preview_http.py [requests]``
"""

from __future__ import annotations

import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(name: str, seconds: list[float]) -> None:
    ms = [s * 1000 for s in seconds]
    print(
        f"{name:<44} n={len(ms):<4} p50={statistics.median(ms):6.2f} ms  "
        f"p95={percentile(ms, 95):6.2f} ms  p99={percentile(ms, 99):6.2f} ms"
    )


def main(requests: int) -> None:
    customshop = str(Path(sys.executable).with_name("customshop"))
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOMSHOP_")}
        env["CUSTOMSHOP_DATA_DIR"] = folder
        env["CUSTOMSHOP_RATE_LIMIT_ENABLED"] = "false"  # one client asks for every preview
        server = subprocess.Popen(
            [customshop, "demo", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=30) as client:
                for _ in range(300):
                    try:
                        if client.get("/health/live").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.1)
                tee = next(p for p in client.get("/products").json()["items"] if p["slug"] == "classic-tee")
                started = client.post("/sessions", json={"product_id": tee["id"]}).json()
                session, key = started["session_id"], {"X-Session-Key": started["session_key"]}
                client.cookies.clear()
                photo = io.BytesIO()
                Image.effect_noise((1200, 1200), 60).convert("RGB").save(photo, "JPEG", quality=90)
                asset = client.post(
                    f"/sessions/{session}/assets", files={"f": ("p.jpg", photo.getvalue())}, headers=key
                ).json()
                design = {
                    "front_text": {"text": "Hello, world", "font": "Serif", "color": "#ffffff"},
                    "photo": {"asset_id": asset["asset_id"]},
                    "body_color": "#2c3e50",
                    "size": "L",
                }
                client.patch(f"/sessions/{session}", json={"options": design}, headers=key).raise_for_status()

                begin = time.perf_counter()
                job = client.post(f"/sessions/{session}/preview", headers=key).json()
                while job["status"] not in ("done", "failed"):
                    time.sleep(0.005)
                    job = client.get(f"/previews/{job['job_id']}").json()
                cold = time.perf_counter() - begin
                assert job["status"] == "done", job
                print(f"cold preview, request to done (1000×1000 render, in-process): {cold * 1000:.1f} ms")

                timings: dict[str, list[float]] = {"post": [], "status": [], "image": []}
                for _ in range(requests):
                    for name, call in (
                        ("post", lambda: client.post(f"/sessions/{session}/preview", headers=key)),
                        ("status", lambda: client.get(f"/previews/{job['job_id']}")),
                        ("image", lambda: client.get(job["url"])),
                    ):
                        t = time.perf_counter()
                        response = call()
                        timings[name].append(time.perf_counter() - t)
                        assert response.status_code in (200, 202)
                report("cached: POST /sessions/{id}/preview (same design)", timings["post"])
                report("cached: GET /previews/{job_id}", timings["status"])
                report("cached: GET /previews/{job_id}/image", timings["image"])
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
