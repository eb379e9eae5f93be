"""A local stand-in for Africa's Talking, for development and tests.

It answers AT's SMS API (`POST /version1/messaging`) and keeps what it "sent" in memory
(`/api/messages`, and `/` for people); posts delivery reports back to the hotline's `/sms/delivery`;
sends SMS as a phone to the hotline's `/sms/inbound` (`/api/inbound`); plays a USSD phone in the
browser (`/phone`) that calls the hotline's `/ussd` exactly as AT does; and lets tests configure
failures per number (`/api/failures`), faults of the whole API (`/api/faults`) and wait for the
delivery reports (`/api/flush`). Run it with
`flask --app simulator:create_app run --port 5001` and point the hotline's `AT_API_URL` at it.

It keeps its own copy of AT's tables (status codes, delivery statuses, failure reasons, field
names) on purpose, and imports nothing of the service: it plays AT, so a mistake in the hotline's
adapter (`hotline.africastalking`) shows up as a disagreement instead of being shared.
"""

from __future__ import annotations

from flask import Flask

from simulator import control, inbound, inbox, messaging, phone
from simulator.config import from_mapping
from simulator.extensions import Simulator


def create_app(config: dict | None = None) -> Flask:
    """Build the simulator app; `config` keys (HOTLINE_URL, AT_API_KEY, SIM_…) beat the environment."""
    app = Flask(__name__)
    # Big enough for a bulk send to thousands of numbers, small enough to stop a runaway client.
    app.config.update(MAX_CONTENT_LENGTH=4 * 1024 * 1024)
    app.config.update(config or {})
    app.extensions["simulator"] = Simulator(config=from_mapping(config))

    app.register_blueprint(messaging.bp)
    app.register_blueprint(inbox.bp)
    app.register_blueprint(phone.bp)
    app.register_blueprint(inbound.bp)
    app.register_blueprint(control.bp)
    return app
