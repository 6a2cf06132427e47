"""Load for the HTTP figure: POST each path of BENCH_PATHS_FILE once, then stop.

Started by ``python manage.py bench`` as its own process (``locust --headless``) against gunicorn on
127.0.0.1; bounded by the number of paths and by ``-t``. Writes what it saw to BENCH_RESULT_FILE.
"""

import json
import os
import time

import gevent
from locust import FastHttpUser, constant, events, task
from locust.exception import StopUser

with open(os.environ["BENCH_PATHS_FILE"]) as paths_file:
    PATHS = iter(json.load(paths_file))
HEADERS = {"Content-Type": "application/json"}
if os.environ.get("BENCH_TOKEN"):
    HEADERS["Authorization"] = f"Token {os.environ['BENCH_TOKEN']}"
SEEN = {"ok": 0, "failed": 0, "first_start": None, "last_end": None, "errors": []}


class Poster(FastHttpUser):
    wait_time = constant(0)
    network_timeout = 30.0
    connection_timeout = 10.0

    @task
    def post_next(self):
        path = next(PATHS, None)
        if path is None:
            # Quit from a greenlet of its own: quitting kills every user, this one included.
            if not SEEN.get("quitting") and self.environment.runner is not None:
                SEEN["quitting"] = True
                gevent.spawn(self.environment.runner.quit)
            raise StopUser()
        started = time.perf_counter()
        with self.client.post(path, data=b'{"comment": ""}', headers=HEADERS, catch_response=True) as response:
            if response.status_code in (200, 201):
                SEEN["ok"] += 1
            else:
                SEEN["failed"] += 1
                if len(SEEN["errors"]) < 5:
                    SEEN["errors"].append(f"{path}: {response.status_code} {(response.text or '')[:300]}")
                response.failure(f"status {response.status_code}")
        ended = time.perf_counter()
        SEEN["first_start"] = started if SEEN["first_start"] is None else min(SEEN["first_start"], started)
        SEEN["last_end"] = ended if SEEN["last_end"] is None else max(SEEN["last_end"], ended)


@events.quitting.add_listener
def write_result(environment, **kwargs):
    with open(os.environ["BENCH_RESULT_FILE"], "w") as result_file:
        json.dump(SEEN, result_file)
