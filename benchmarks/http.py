"""gunicorn with two workers on 127.0.0.1, and locust as a second process that loads it, both bounded."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings

PORTS = range(8070, 8080)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("No free port in 8070–8079 for the benchmark's server.")


def database_url(settings_dict: dict) -> str:
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(settings_dict['NAME']).resolve()}"
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{auth}{settings_dict.get('HOST') or '127.0.0.1'}{port}/{settings_dict['NAME']}"


@contextlib.contextmanager
def gunicorn(*, settings_dict: dict, workdir: Path, workers: int = 2):
    """Serve the product (plus the floor view of benchmarks.urls) until the block ends; yields the base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "DATABASE_URL": database_url(settings_dict),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "benchmark-only-not-a-secret",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "BENCH_QUEUE_DIR": str(workdir / "queue"),
        "BENCH_MEDIA_ROOT": str(workdir / "media"),
    }
    (workdir / "queue").mkdir(exist_ok=True)
    log = open(workdir / "gunicorn.log", "w")  # noqa: SIM115 - closed below, after the server
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", str(workers)]
        + ["--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "60"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn stopped: {(workdir / 'gunicorn.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(url + "/konto/anmelden/", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not answer within 30 s.") from None
                time.sleep(0.2)
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def post(url: str, *, token: str = "") -> int:
    request = urllib.request.Request(url, data=b'{"comment": ""}', method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def load(*, url: str, paths: list[str], token: str, users: int, seconds: int, workdir: Path) -> dict:
    """POST each path once from ``users`` concurrent clients; requests per second and errors."""
    paths_file, result_file = workdir / "paths.json", workdir / "locust-result.json"
    paths_file.write_text(json.dumps(paths))
    result_file.unlink(missing_ok=True)
    completed = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(Path(__file__).with_name("locustfile.py")), "--headless"]
        + ["--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s", "--stop-timeout", "5"]
        + ["--host", url, "--only-summary", "--loglevel", "ERROR", "--skip-log-setup"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "BENCH_PATHS_FILE": str(paths_file), "BENCH_RESULT_FILE": str(result_file)}
        | ({"BENCH_TOKEN": token} if token else {}),
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    if not result_file.exists():
        raise RuntimeError(f"locust wrote no result: {completed.stderr[-2000:]}")
    seen = json.loads(result_file.read_text())
    elapsed = (seen["last_end"] - seen["first_start"]) if seen["ok"] + seen["failed"] else 0.0
    return {
        "requests": seen["ok"] + seen["failed"],
        "errors": seen["failed"],
        "unsent": len(paths) - seen["ok"] - seen["failed"],
        "seconds": round(elapsed, 3),
        "rps": seen["ok"] / elapsed if elapsed else 0.0,
        "error_samples": seen["errors"],
    }
