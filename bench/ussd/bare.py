"""The baseline of the USSD benchmark: a bare Flask handler, one Redis GET and one SET, `CON`.

It is what any USSD webhook on this stack costs at the least (gunicorn, Flask, form parsing, two
Redis round trips), without the flow, the database or the crypto. `run.py` serves it with the same
gunicorn settings as the hotline and compares the hotline's throughput with it.
"""

from __future__ import annotations

import os

import redis
from flask import Flask, Response, request


def create_app() -> Flask:
    """The baseline app; `REDIS_URL` must name the benchmark's private Redis."""
    app = Flask(__name__)
    url = os.environ.get("REDIS_URL")
    if not url:
        raise RuntimeError("REDIS_URL is not set (the benchmark starts its own redis-server)")
    # The same client options as the hotline's, so the Redis round trips cost the same.
    client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0,
                                  health_check_interval=30)

    @app.post("/ussd")
    def ussd_screen():
        """Read the session's last `text`, store the new one, answer a fixed screen."""
        key = "bench:bare:" + request.form.get("sessionId", "")
        previous = client.get(key)
        client.set(key, request.form.get("text", ""), ex=600)
        screen = "Welcome" if previous is None else "Next screen"
        return Response(f"CON {screen}\n1. Yes\n2. No", mimetype="text/plain")

    return app
