"""The project dashboard's page time as responses grow: every chart from grouped selects.

Inserts ``--responses`` complete synthetic community-capacity responses (as
capacity_read.py does), backfills their scores, then times GET
/staff/projects/<id>/dashboard as an admin. Prints the median page time per size, so
the growth from the first size to the last shows whether the page scales with the
number of groups (it should) or of responses.

    .venv/bin/python bench/dashboard.py [--responses 2000 20000] [--rounds 3] [--url URL]
"""
from __future__ import annotations

import argparse
import re
import time

from capacity_read import backfill, fill
from common import fresh_app, median

from surveyapp import operations

PASSWORD = "bench-password-long-enough"


def client_for(app):
    with app.app_context():
        operations.transaction(lambda: operations.staff.create_user(
            "bench-admin@example.org", PASSWORD, ["admin"]))
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").text).group(1)
    reply = client.post("/login", data={"csrf_token": token, "email": "bench-admin@example.org",
                                        "password": PASSWORD})
    assert reply.status_code == 302, reply.status_code
    return client


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url")
    options = parser.parse_args()
    for count in options.responses:
        app, _ = fresh_app(options.url)
        project_id = fill(app, count)
        backfill(app)
        client = client_for(app)
        times = []
        for _ in range(options.rounds):
            start = time.perf_counter()
            reply = client.get(f"/staff/projects/{project_id}/dashboard")
            times.append(time.perf_counter() - start)
            assert reply.status_code == 200 and "<svg" in reply.text
        print(f"{count:>7} responses: project dashboard {median(times) * 1000:.0f} ms "
              f"(median of {options.rounds})")


if __name__ == "__main__":
    main()
