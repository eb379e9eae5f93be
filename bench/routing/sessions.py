"""Whole USSD tip sessions played against the hotline, a few at once, as phones on AT would.

Each session has its own `sessionId` and phone number and sends the ten requests of an anonymous
report to Kakamega, AT's `text` growing as on a phone: dial, `1` report, `1` forced labour,
`kakam` (the only county it matches), a place, `99` skip the description, danger `2` no (or `1`
yes: an urgent tip), `2` no children, `2` no call-back, `1` send. The reply to the last one must
be `END … Reference: 123-456-789-012`; the moment it arrives (wall clock, as the simulator's timestamps) and
the reference are what the benchmark measures from.

A closed loop: `concurrency` sessions at once, each sending its next request as soon as the
previous reply arrives. One connection per request, closed as soon as the reply is complete
(gunicorn's sync workers close every connection anyway, and wait for the client's FIN).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

SERVICE_CODE = "*384*1234#"
NETWORK_CODE = "63902"
COUNTY_CODE = 37  # Kakamega: "kakam" selects it, "kak" would also match Kajiado
PLACE = "Market street"
TIMEOUT = 10.0  # seconds for one reply; AT itself gives up after 10 s
REFERENCE = re.compile(rb"Reference: (\d{3}(?:-\d{3}){2,3})")


def inputs(urgent: bool) -> tuple[str, ...]:
    """What the reporter types, screen by screen ("" is the dial)."""
    return ("", "1", "1", "kakam", PLACE, "99", "1" if urgent else "2", "2", "2", "1")


def urgent_at(number: int, share: float) -> bool:
    """Whether tip `number` (from 0) is urgent, spreading `share` of them evenly over the run."""
    return int((number + 1) * share) > int(number * share)


@dataclass
class TipSession:
    """One reporter's session: what was sent, and when its `END` came back with which reference."""

    number: int
    urgent: bool
    session_id: str = ""
    phone: str = ""
    reference: str | None = None  # as shown: 123-456-789-012
    started_at: float = 0.0  # wall clock, seconds
    end_at: float = 0.0  # wall clock when the END reply was complete
    end_reply_ms: float = 0.0  # how long the last request (the one that commits the tip) took
    error: str | None = None
    replies_ms: list[float] = field(default_factory=list)


async def _post(port: int, body: bytes) -> tuple[bytes, bytes]:
    """POST /ussd on a new connection; the status code and the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"POST /ussd HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (port, len(body), body)
        )
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
        payload = await (reader.readexactly(int(length.group(1))) if length else reader.read())
    finally:
        writer.close()
    return head[9:12], payload


async def play(port: int, tip: TipSession) -> None:
    """Play one session to its END; any wrong screen, error or timeout is kept in `tip.error`."""
    tip.session_id = f"ATUid_route{tip.number:06d}"
    tip.phone = f"+2547{11_000_000 + tip.number:08d}"
    typed = inputs(tip.urgent)
    form = urlencode({"sessionId": tip.session_id, "serviceCode": SERVICE_CODE,
                      "phoneNumber": tip.phone, "networkCode": NETWORK_CODE}).encode()
    tip.started_at = time.time()
    for step in range(len(typed)):
        text = "*".join(typed[1 : step + 1])
        sent = time.perf_counter()
        try:
            status, body = await asyncio.wait_for(
                _post(port, form + b"&" + urlencode({"text": text}).encode()), TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
            tip.error = f"request {step + 1} ({typed[step]!r}): {type(exc).__name__} {exc}"[:200]
            return
        arrived = time.time()
        tip.replies_ms.append((time.perf_counter() - sent) * 1000)
        last = step == len(typed) - 1
        if status != b"200":
            tip.error = f"request {step + 1}: status {status.decode(errors='replace')} {body[:80]!r}"
            return
        if not last and not body.startswith(b"CON "):
            tip.error = f"request {step + 1} ({typed[step]!r}): expected CON, got {body[:80]!r}"
            return
        if last:
            found = REFERENCE.search(body)
            if not body.startswith(b"END ") or not found:
                tip.error = f"last screen is not END with a reference: {body[:80]!r}"
                return
            tip.reference, tip.end_at = found.group(1).decode(), arrived
            tip.end_reply_ms = tip.replies_ms[-1]


async def drive(port: int, tips: int, concurrency: int, urgent_share: float) -> list[TipSession]:
    """Play `tips` sessions, `concurrency` at once; every session, in the order they started."""
    sessions = [TipSession(number, urgent_at(number, urgent_share)) for number in range(tips)]
    waiting = iter(sessions)

    async def phone() -> None:
        for tip in waiting:  # a shared iterator: each phone takes the next session
            await play(port, tip)

    await asyncio.gather(*(phone() for _ in range(min(concurrency, tips))))
    return sessions
