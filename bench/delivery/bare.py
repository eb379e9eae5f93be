"""The baseline of the delivery benchmark: a bare Flask handler doing one Redis RPUSH of the body.

It is what any delivery-report webhook on this stack costs at the least (gunicorn, Flask, reading
the body, one Redis round trip), without the checks, the reporter key or the applying job.
`run.py` serves it with the same gunicorn settings as the hotline.
"""

from __future__ import annotations

import os

import redis
from flask import Flask, Response, request

BUFFER = "bench:bare:delivery"


def create_app() -> Flask:
    """The baseline app; `REDIS_URL` must name the benchmark's private Redis."""
    app = Flask(__name__)
    url = os.environ.get("REDIS_URL")
    if not url:
        raise RuntimeError("REDIS_URL is not set (the benchmark starts its own redis-server)")
    # The same client options as the hotline's, so the Redis round trip costs the same.
    client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0,
                                  health_check_interval=30)

    @app.post("/sms/delivery")
    def delivery_report():
        """Keep the raw report, answer ok."""
        client.rpush(BUFFER, request.get_data())
        return Response("ok\n", mimetype="text/plain")

    return app
