"""The VR pose server: a WebSocket server in a background thread that keeps the newest valid sample.

It binds 127.0.0.1 by default; any other address needs a token (refused without one), presented as an HTTP
header `Authorization: Bearer <token>` or in a first `hello` message within `auth_timeout_s`. Every message
goes through protocol.parse_message; rejected ones are counted in `counters`, never crash the server.
The control thread reads only `latest()` and `snapshot()`, both under one lock, so it never waits on the network.
"""
from __future__ import annotations

import asyncio
import hmac
import ipaddress
import threading
import time
from typing import Any, Callable

from robotschool.devices.vr.protocol import BUTTONS, COUNTERS, MessageError, VRSample, parse_message
from robotschool.devices.vr.settings import HARD_MAX_BYTES, VRSettings
from robotschool.errors import ConfigError, RobotschoolError
from robotschool.types import ARMS

_AUTH_CLOSE = 1008              # policy violation


def import_websockets():
    try:
        import websockets.asyncio.server  # noqa: F401
        import websockets
    except ImportError:
        raise RobotschoolError("the VR device needs the websockets package; install it with "
                               "`pip install robotschool[vr]`") from None
    return websockets


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_bind(host: str, token: str | None) -> None:
    if not _is_loopback(host) and not token:
        raise ConfigError(f"binding the VR server to {host} (not loopback) needs a token: pass --token SECRET "
                          f"and give the same token to the headset app, or bind 127.0.0.1")


class PoseServer:
    """The WebSocket server, in a background thread with its own asyncio loop.

    Holds the latest accepted sample, the button presses (rising edges) not yet collected, and the counters;
    everything the control thread reads goes through one lock.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
                 settings: VRSettings | None = None, clock: Callable[[], float] = time.monotonic):
        _check_bind(host, token)
        self.host, self.port, self.token = host, port, token
        self.s = settings or VRSettings()
        self.clock = clock
        self.counters = {k: 0 for k in COUNTERS}
        self.clients = 0
        self._lock = threading.Lock()
        self._latest: VRSample | None = None
        self._pressed: list[str] = []
        self._held: dict[str, frozenset] = {arm: frozenset() for arm in ARMS}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._ready = threading.Event()

    # -- control-thread API ------------------------------------------------------------------------------
    def start(self) -> "PoseServer":
        import_websockets()
        self._thread = threading.Thread(target=self._run, name="vr-pose-server", daemon=True)
        self._thread.start()
        self._ready.wait(10.0)
        if self._error is not None:
            raise RobotschoolError(f"cannot start the VR server on {self.host}:{self.port} ({self._error}); "
                                   f"choose another --port") from None
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(5.0)
        self._thread = None

    def latest(self) -> tuple[VRSample | None, list[str]]:
        """The newest sample and the button presses since the last call."""
        with self._lock:
            pressed, self._pressed = self._pressed, []
            return self._latest, pressed

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counters)

    # -- server thread -----------------------------------------------------------------------------------
    def _count(self, name: str) -> None:
        with self._lock:
            self.counters[name] += 1

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as e:          # reported to start(); the thread must not die silently
            self._error = e
            self._ready.set()

    async def _main(self) -> None:
        from websockets.asyncio.server import serve

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._handler, self.host, self.port, max_size=HARD_MAX_BYTES,
                         ping_interval=None) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    def _token_ok(self, presented: Any) -> bool:
        return isinstance(presented, str) and hmac.compare_digest(presented.encode(), self.token.encode())

    async def _handler(self, ws) -> None:
        from websockets.exceptions import ConnectionClosed

        self._count("connections")
        authed = self.token is None
        if not authed:
            header = ws.request.headers.get("Authorization", "") if ws.request is not None else ""
            authed = header.startswith("Bearer ") and self._token_ok(header[len("Bearer "):])
        deadline = self.clock() + self.s.auth_timeout_s
        with self._lock:
            self.clients += 1
        try:
            while True:
                try:
                    timeout = None if authed else max(0.0, deadline - self.clock())
                    raw = await asyncio.wait_for(ws.recv(), timeout)
                except (asyncio.TimeoutError, TimeoutError):
                    self._count("auth_failed")
                    await ws.close(_AUTH_CLOSE, "token required")
                    return
                self._count("received")
                try:
                    msg = parse_message(raw, self.s.max_message_bytes, self.s.max_position_m, self.clock())
                except MessageError as e:
                    self._count(e.counter)
                    if not authed:
                        self._count("auth_failed")
                        await ws.close(_AUTH_CLOSE, "token required")
                        return
                    continue
                if msg["type"] == "hello":
                    if self.token is not None and not self._token_ok(msg["token"]):
                        self._count("auth_failed")
                        await ws.close(_AUTH_CLOSE, "wrong token")
                        return
                    authed = True
                    continue
                if not authed:
                    self._count("auth_failed")
                    await ws.close(_AUTH_CLOSE, "token required")
                    return
                self._accept(msg["sample"])
        except ConnectionClosed as e:
            if e.rcvd is None and e.sent is not None and e.sent.code == 1009:
                self._count("oversized")
        finally:
            with self._lock:
                self.clients -= 1

    def _accept(self, sample: VRSample) -> None:
        with self._lock:
            self.counters["accepted"] += 1
            for arm in ARMS:
                now = sample.hands[arm].buttons
                self._pressed += [b for b in BUTTONS if b in now and b not in self._held[arm]]
                self._held[arm] = now
            self._latest = sample
