"""The app as a real server process for the offline tests, which stop and restart it.

``python -m tests.browser.offline_server DATABASE_URL PORT [DELAY]``: with DELAY, each
submission is answered DELAY seconds after it was stored, so that a test can kill the
server between storing a response and telling the device.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from werkzeug.serving import make_server

from surveyapp import create_app
from tests.conftest import app_config


def main(url: str, port: int, delay: float = 0.0) -> None:
    app = create_app(app_config(url, Path("/tmp")))
    inner = app.wsgi_app

    def slow(environ, start_response):
        body = inner(environ, start_response)
        if delay and environ["REQUEST_METHOD"] == "POST":
            time.sleep(delay)  # stored and committed; the reply is not out yet
        return body

    app.wsgi_app = slow
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
