"""A raw-socket HTTP load driver (one asyncio loop); `bench/delivery` uses its `Call` and `Target`.

The USSD benchmark itself now uses `wrk` (`sessions.lua`); this driver stays for `bench/delivery`.

Both targets get exactly the same driver and the same form bodies, so their figures compare.

- Closed loop (`closed_loop`): a fixed number of tip sessions run at once; each sends its next
  request as soon as the previous reply arrives. Completed requests per second is the maximum
  throughput.
- Open loop (`open_loop`): requests are sent on a clock at a fixed rate whether or not earlier
  replies have arrived. A tick thread sleeps with `clock_nanosleep` precision (the event loop's
  epoll timer only has millisecond steps) and hands each tick to the loop. Latency is measured
  from the tick's *scheduled* time, so a slow server or a late driver shows up in the figures
  instead of quietly lowering the offered rate (coordinated omission). Each tick takes the next
  request of a session whose previous reply has arrived, or starts a new session.

Each request is one connection (`Connection: close`), as gunicorn's sync workers answer anyway.
Every reply is checked: status 200, `CON ` on every screen, `END … Reference: …` after the last input
of a tip session. Anything else, and any connection error or timeout, counts as an error.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from tally import Tally

SERVICE_CODE = "*384*1234#"
NETWORK_CODE = "63902"
# A full anonymous tip (the menu numbering README.md shows): report, forced labour, the 2nd county, a place,
# skip the description, not in danger, no children, no call-back, send.
TIP_INPUTS = ("", "1", "1", "2", "Market street", "99", "2", "2", "2", "1")
REQUESTS_PER_SESSION = len(TIP_INPUTS)
TIMEOUT = 10.0  # seconds; a reply slower than this is an error


@dataclass(frozen=True)
class Target:
    """A server to drive: `hotline` runs the tip flow, `bare` answers `CON` to everything."""

    name: str
    port: int
    host: str = "127.0.0.1"
    flow: bool = True  # True when replies follow the tip flow (END with a reference at the end)


# The `text` field of each request of a session: "", then every input so far joined with `*`.
TEXTS = tuple(urlencode({"text": "*".join(TIP_INPUTS[1 : step + 1])}).encode()
              for step in range(REQUESTS_PER_SESSION))


class Sessions:
    """Tip sessions: the request bytes of each, with a new sessionId and phone number every time."""

    def __init__(self, first: int = 1):
        self.number = first

    def new(self, target: Target) -> deque[bytes]:
        """The 10 requests of the next tip session, in order, for `target`."""
        number, self.number = self.number, self.number + 1
        form = urlencode({
            "sessionId": f"ATUid_bench{number:010d}",
            "serviceCode": SERVICE_CODE,
            "phoneNumber": f"+2547{number % 10**8:08d}",
            "networkCode": NETWORK_CODE,
        }).encode() + b"&"
        head = (
            f"POST /ussd HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n"
        ).encode()
        return deque(head + b"Content-Length: %d\r\n\r\n" % (len(form) + len(text)) + form + text
                     for text in TEXTS)


class Call:
    """One request on its own connection, driven by the event loop's readiness callbacks."""

    __slots__ = ("loop", "target", "sock", "payload", "on_done", "buffer", "expected", "started",
                 "finished")

    def __init__(self, loop, target: Target, payload: bytes, on_done: Callable[[Call, str | None], None]):
        self.loop, self.target, self.payload, self.on_done = loop, target, payload, on_done
        self.buffer = bytearray()
        self.expected = -1
        self.started = self.finished = 0.0
        self.sock = None

    def start(self) -> None:
        """Connect and send; `on_done` is called once, when the reply is complete or failed."""
        self.started = time.perf_counter()
        try:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        except OSError as exc:  # out of file descriptors, say
            self._fail(f"socket: {exc}")
            return
        self.sock.setblocking(False)
        code = self.sock.connect_ex((self.target.host, self.target.port))
        if code == 0:
            self._send()
        elif code == errno.EINPROGRESS:
            self.loop.add_writer(self.sock.fileno(), self._connected)
        else:
            self._fail(f"connect: {errno.errorcode.get(code, code)}")

    def _connected(self) -> None:
        self.loop.remove_writer(self.sock.fileno())
        code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self._fail(f"connect: {errno.errorcode.get(code, code)}")
        else:
            self._send()

    def _send(self) -> None:
        try:
            sent = self.sock.send(self.payload)
        except OSError as exc:
            self._fail(f"send: {exc}")
            return
        if sent != len(self.payload):  # a few hundred bytes always fit an empty socket buffer
            self._fail("send: short write")
            return
        self.loop.add_reader(self.sock.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as exc:
            self._fail(f"recv: {exc}")
            return
        if not data:  # the server closed: the reply is complete, or it never came
            if self.buffer and self.expected < 0:
                self._complete()
            else:
                self._fail("connection closed before a complete reply")
            return
        self.buffer += data
        if self.expected < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            at = head.find(b"\r\ncontent-length:")
            if at < 0:
                return  # no length: the reply ends when the server closes
            stop = head.find(b"\r\n", at + 2)
            self.expected = end + 4 + int(head[at + 17 : stop if stop > 0 else None])
        if len(self.buffer) >= self.expected:
            self._complete()

    def _complete(self) -> None:
        # Close at once, as a client that has its reply does: gunicorn's sync worker waits for
        # the client's FIN (util.close_graceful) before it takes the next request.
        self.finished = time.perf_counter()
        self._close()
        self.on_done(self, None)

    def _fail(self, reason: str) -> None:
        self._close()
        if not self.finished:
            self.finished = time.perf_counter()
            # Never from inside `start`: a server that refuses at once would recurse without end.
            self.loop.call_soon(self.on_done, self, reason)

    def _close(self) -> None:
        if self.sock is not None and self.sock.fileno() >= 0:
            self.loop.remove_reader(self.sock.fileno())
            self.loop.remove_writer(self.sock.fileno())
            self.sock.close()

    def abandon(self, reason: str) -> None:
        """Give up on this call (it timed out)."""
        self._fail(reason)

    def reply(self) -> tuple[bytes, bytes]:
        """The status code and the body."""
        end = self.buffer.find(b"\r\n\r\n")
        return bytes(self.buffer[9:12]), bytes(self.buffer[end + 4 :]) if end >= 0 else b""


def check(target: Target, call: Call, last: bool) -> str | None:
    """Why this reply is wrong, or None when it is what the screen should be."""
    status, body = call.reply()
    if status != b"200":
        return f"status {status.decode(errors='replace')}: {body[:80]!r}"
    if target.flow and last:
        if not body.startswith(b"END ") or b"Reference: " not in body:
            return f"last screen is not END with a reference: {body[:80]!r}"
    elif not body.startswith(b"CON "):
        return f"expected CON: {body[:80]!r}"
    return None


class Phase:
    """State shared by both loops: in-flight calls, the measuring window and the tally.

    The window is `[start, start + duration)` on `time.perf_counter()`. A closed loop counts the
    replies that complete inside it; an open loop counts the requests scheduled inside it, however
    late their replies come (dropping slow replies would flatter the latency).
    """

    def __init__(self, target: Target, sessions: Sessions, start: float, duration: float,
                 by_schedule: bool, on_window: Callable[[str], None] | None):
        self.loop = asyncio.get_running_loop()
        self.target, self.sessions, self.by_schedule = target, sessions, by_schedule
        self.tally = Tally(window=duration)
        self.window_start, self.window_end = start, start + duration
        self.in_flight: dict[Call, tuple] = {}
        if on_window:
            offset = self.loop.time() - time.perf_counter()
            self.loop.call_at(self.window_start + offset, on_window, "start")
            self.loop.call_at(self.window_end + offset, on_window, "end")
        self.watchdog = self.loop.call_later(1.0, self._watch)

    def _watch(self) -> None:
        oldest = time.perf_counter() - TIMEOUT
        for call in [c for c in self.in_flight if c.started < oldest]:
            call.abandon(f"no reply within {TIMEOUT:.0f} s")
        self.watchdog = self.loop.call_later(1.0, self._watch)

    def inside(self, moment: float) -> bool:
        """True when `moment` falls in the measuring window."""
        return self.window_start <= moment < self.window_end

    def send(self, requests: deque, scheduled: float, then: Callable[[deque | None], None]) -> None:
        """Send the session's next request; `then` gets the session back (None when it is over)."""
        call = Call(self.loop, self.target, requests.popleft(), self._done)
        self.in_flight[call] = (requests, scheduled, then, REQUESTS_PER_SESSION - 1 - len(requests))
        call.start()

    def _done(self, call: Call, failure: str | None) -> None:
        requests, scheduled, then, step = self.in_flight.pop(call)
        last = not requests
        failure = failure or check(self.target, call, last)
        counted = self.inside(scheduled if self.by_schedule else call.finished)
        if failure and (counted or call.started >= self.window_start):
            self.tally.error(failure)  # an error counts even when it came after the window
        elif counted:
            self.tally.latencies.append(call.finished - scheduled)
            self.tally.by_step.setdefault(step, []).append(call.finished - scheduled)
        then(None if failure or last else requests)

    def close(self) -> None:
        """Stop the watchdog and drop whatever is still in flight."""
        self.watchdog.cancel()
        for call in list(self.in_flight):
            call._close()
        self.in_flight.clear()


async def closed_loop(target: Target, sessions: Sessions, concurrency: int, warmup: float,
                      duration: float, on_window: Callable[[str], None] | None = None) -> Tally:
    """Keep `concurrency` tip sessions going; count the replies of the last `duration` seconds."""
    phase = Phase(target, sessions, time.perf_counter() + warmup, duration, False, on_window)
    finished = phase.loop.create_future()
    running = concurrency

    def next_request(requests: deque | None) -> None:
        nonlocal running
        now = time.perf_counter()
        if now >= phase.window_end:
            running -= 1
            if running == 0 and not finished.done():
                finished.set_result(None)
            return
        phase.send(requests or sessions.new(target), now, next_request)

    for _ in range(concurrency):
        next_request(None)
    try:
        await asyncio.wait_for(finished, warmup + duration + TIMEOUT + 5)
    finally:
        phase.close()
    return phase.tally


async def open_loop(target: Target, sessions: Sessions, rate: float, warmup: float,
                    duration: float, on_window: Callable[[str], None] | None = None) -> Tally:
    """Send `rate` requests per second on a clock; latency counts from each scheduled send time."""
    first = time.perf_counter() + 0.05
    phase = Phase(target, sessions, first + warmup, duration, True, on_window)
    ready: deque[deque] = deque()
    stop = threading.Event()
    count = int(round((warmup + duration) * rate))

    def back(requests: deque | None) -> None:
        if requests:
            ready.append(requests)

    def fire(scheduled: float) -> None:
        if phase.inside(scheduled):
            phase.tally.sent += 1
            phase.tally.send_lag.append(time.perf_counter() - scheduled)
        phase.send(ready.popleft() if ready else sessions.new(target), scheduled, back)

    def ticks() -> None:
        for i in range(count):
            scheduled = first + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if stop.is_set():
                return
            phase.loop.call_soon_threadsafe(fire, scheduled)

    ticker = threading.Thread(target=ticks, name="ticks", daemon=True)
    ticker.start()
    try:
        await asyncio.to_thread(ticker.join)
        deadline = time.perf_counter() + TIMEOUT + 2
        while phase.in_flight and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        phase.close()
    return phase.tally
