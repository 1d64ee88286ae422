"""The JSON-RPC transport: HTTP POST and WebSocket on one port (FastAPI + uvicorn).

HTTP (`POST /`):
- one request object or a batch array per body; the answer is always HTTP 200 with the
  JSON-RPC response(s) (wallets map HTTP 4xx/5xx to their own errors), or an empty 200 body
  when every request was a notification;
- bodies over `max_body_bytes` are refused with -32600 (checked against Content-Length, and
  while streaming for chunked bodies); unparsable JSON is -32700;
- CORS for browsers and extensions: preflight `OPTIONS` answered, `content-type` allowed,
  origins from `cors_origins` (default `*`).

WebSocket (`/` upgrade, and `/ws`): the same methods, plus eth_subscribe / eth_unsubscribe.
Requests on one connection are answered in order; subscription notifications are pushed
between them. Messages over `max_body_bytes` get -32600 (and over four times that, the
connection is closed with 1009 "message too big").

A POST to `/` without an `Origin` header (web3.py, ethers and viem in Node, ape, curl: every
non-browser client) is answered by `PlainPostFastPath`, an ASGI middleware in front of FastAPI:
the same body limit, JSON decoding and dispatch, without Starlette's request, routing and
response layers, which cost more per request than a cheap method itself. Browser requests
(they carry `Origin`, and may need CORS headers), preflights and WebSockets go through FastAPI.

Method handlers are blocking (py-evm), so every request runs on a worker thread pool and the
event loop only moves bytes. Notifications come from the block producer's thread and reach
the loop through `call_soon_threadsafe`. Nothing a request does can crash the server: errors
become JSON-RPC error objects.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import re
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, Awaitable, Callable

import uvicorn
from fastapi import FastAPI, Request, Response, WebSocket
from starlette.middleware.cors import CORSMiddleware
from starlette.websockets import WebSocketDisconnect

from domains.evm.node import DomainNode
from domains.rpc.context import DEFAULT_MAX_BODY_BYTES, Gateway, GatewayConfig
from domains.rpc.dispatch import error_response
from domains.rpc.errors import InternalError, InvalidRequest, ParseError, RpcError

log = logging.getLogger("autonomys.rpc")

#: Notifications a WebSocket client may fall behind by before it is disconnected.
MAX_QUEUED_NOTIFICATIONS = 10_000
#: Worker threads running method handlers.
DEFAULT_WORKERS = 16
WS_CLOSE_TOO_SLOW = 1008
WS_CLOSE_POLICY = 1008


def build_app(node: DomainNode, *, dev_signer: bool = False, cors_origins=("*",),
              max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, max_batch: int = 1000,
              filter_timeout: float = 300.0, logs_block_range_limit: int = 10_000,
              logs_result_limit: int = 10_000, workers: int = DEFAULT_WORKERS,
              clock: Callable[[], float] = time.monotonic, consensus: Any = None) -> FastAPI:
    """The gateway app for `node` (see the module docstring).

    `dev_signer` enables eth_sendTransaction / eth_sign / eth_signTransaction and
    eth_accounts with `node.dev_keys`; `clock` times filter expiry (injectable for tests);
    `consensus` is the consensus node whose `chain_*` / `subspace_*` methods the gateway serves."""
    config = GatewayConfig(dev_signer=dev_signer, cors_origins=tuple(cors_origins),
                           max_body_bytes=max_body_bytes, max_batch=max_batch,
                           filter_timeout=filter_timeout, logs_block_range_limit=logs_block_range_limit,
                           logs_result_limit=logs_result_limit)
    gateway = Gateway(node, config, clock=clock, consensus=consensus)
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rpc")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        gateway.close()
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="Autonomys domain JSON-RPC", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.gateway = gateway
    app.state.executor = executor
    app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins),
                       allow_methods=["POST", "GET", "OPTIONS"], allow_headers=["*"], max_age=600)

    async def run(payload: Any, connection: Any = None) -> Any:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, gateway.handle, payload, connection)
        except Exception as exc:  # the dispatcher answers handler errors; this is a last resort
            log.exception("request dispatch failed")
            return error_response(None, InternalError(f"internal error: {type(exc).__name__}: {exc}"))

    async def answer(body: bytes) -> Any:
        """The JSON-RPC answer to one HTTP POST body (None: only notifications)."""
        try:
            payload = decode_json(body)
        except RpcError as exc:
            return error_response(None, exc)
        return await run(payload)

    @app.post("/")
    async def http_rpc(request: Request) -> Response:
        try:
            body = await read_body(request.scope, request.receive, config.max_body_bytes)
        except RpcError as exc:
            return json_response(error_response(None, exc))
        if body is None:
            return json_response(None)  # the client left before sending its request
        return json_response(await answer(body))

    # In front of the whole FastAPI app (its own outer middleware included); what uvicorn
    # serves (`serve`, `domains.rpc.testing.LiveServer`) is `asgi_entry(app)`.
    app.state.asgi = PlainPostFastPath(app, answer=answer, max_body_bytes=config.max_body_bytes)

    @app.websocket("/")
    async def ws_root(websocket: WebSocket) -> None:
        await serve_websocket(websocket, gateway, run)

    @app.websocket("/ws")
    async def ws_path(websocket: WebSocket) -> None:
        await serve_websocket(websocket, gateway, run)

    return app


def ws_frame_limit(max_body_bytes: int) -> int:
    """The WebSocket message size uvicorn accepts: well above `max_body_bytes`, so that a
    message over the limit gets a -32600 answer; beyond this the connection closes (1009)."""
    return 4 * max_body_bytes + 1024


def asgi_entry(app: FastAPI) -> "PlainPostFastPath":
    """What uvicorn runs for a `build_app` app: the app behind its `PlainPostFastPath`."""
    return app.state.asgi


def uvicorn_config(app: FastAPI, host: str, port: int, *, log_level: str = "warning") -> uvicorn.Config:
    """uvicorn's settings for the gateway `app`: no access log, WebSocket frames up to
    `ws_frame_limit`, and no proxy-header rewriting (the gateway serves its clients directly
    and never reads their address)."""
    gateway: Gateway = app.state.gateway
    return uvicorn.Config(asgi_entry(app), host=host, port=port, log_level=log_level, access_log=False,
                          ws_max_size=ws_frame_limit(gateway.config.max_body_bytes), lifespan="on",
                          proxy_headers=False)


def serve(app: FastAPI, host: str = "127.0.0.1", port: int = 8545, *, log_level: str = "warning") -> None:
    """Run `app` with uvicorn until interrupted (loopback by default)."""
    uvicorn.Server(uvicorn_config(app, host, port, log_level=log_level)).run()


# -- HTTP ----------------------------------------------------------------------------------------

class PlainPostFastPath:
    """ASGI middleware answering `POST /` requests that carry no `Origin` header (module
    docstring); it hands every other request to `app` unchanged.

    What it answers matches the FastAPI route: the body limit (`read_body`), -32700 for
    bad JSON, the dispatcher's answer as HTTP 200 `application/json`, an empty 200 body for
    notifications only."""

    def __init__(self, app, *, answer: Callable[[bytes], Awaitable[Any]], max_body_bytes: int) -> None:
        self.app = app
        self.answer = answer
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send) -> None:
        if (scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/"
                or any(name == b"origin" for name, _ in scope["headers"])):
            await self.app(scope, receive, send)
            return
        try:
            body = await read_body(scope, receive, self.max_body_bytes)
        except RpcError as exc:
            value = error_response(None, exc)
        else:
            if body is None:
                return  # the client left before sending its request
            value = await self.answer(body)
        content = b"" if value is None else encode_json(value).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(content)).encode())]})
        await send({"type": "http.response.body", "body": content})


async def read_body(scope, receive, limit: int) -> bytes | None:
    """The body of an ASGI HTTP request, None if the client disconnected first; past `limit`
    bytes -32600, by Content-Length before reading, or while streaming a chunked body."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise InvalidRequest(f"request body too large: {int(value)} bytes, the limit is {limit}")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise InvalidRequest(f"request body too large: over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


#: The deepest nesting of arrays and objects a request may have. CPython's JSON decoder recurses
#: once per level, and py-evm and py_ecc raise the interpreter's recursion limit to 100,000 at
#: import, so its RecursionError guard no longer fires before the C stack overflows (a body of
#: 70,000 `[` killed the process). JSON-RPC requests nest a few levels; Go's encoding/json
#: stops at 10,000.
MAX_JSON_DEPTH = 512

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
#: Keeps only the brackets, as +1 (opening) and -1 (closing, 0xff as a signed byte).
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def json_nesting_depth(body: bytes) -> int:
    """How deep arrays and objects nest in `body` (brackets inside strings do not count; for
    malformed JSON, an upper bound of what a decoder would reach)."""
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS).translate(_BRACKET_STEPS)
    return max(itertools.accumulate(memoryview(brackets).cast("b")), default=0)


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"number {text[:40]} is out of range")
    return number


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _bounded_int(text: str) -> int:
    if len(text) > 80:  # 2^256 has 78 digits; Python refuses past 4,300 with its own advice
        raise ValueError(f"integer of {len(text)} digits is out of range")
    return int(text)


def decode_json(body: bytes | str) -> Any:
    """The decoded JSON, or -32700 saying why not: malformed, nested deeper than
    `MAX_JSON_DEPTH`, or with NaN / Infinity (Python's extension, which the answer could not
    echo back as JSON)."""
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    # Depth ≤ the number of opening brackets: only a body with many of them is scanned.
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and json_nesting_depth(raw) > MAX_JSON_DEPTH:
        raise ParseError(f"parse error: arrays and objects nest deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(body, parse_float=_finite_float, parse_int=_bounded_int, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ParseError(f"parse error: {exc}") from None


def encode_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def json_response(value: Any) -> Response:
    if value is None:
        return Response(status_code=200, content=b"", media_type="application/json")
    return Response(status_code=200, content=encode_json(value), media_type="application/json")


# -- WebSocket -----------------------------------------------------------------------------------

class WebSocketConnection:
    """One WebSocket client: an ordered outgoing queue fed by responses (on the event loop)
    and by notifications (from any thread, via `notify`)."""

    def __init__(self, websocket: WebSocket, loop: asyncio.AbstractEventLoop) -> None:
        self.websocket = websocket
        self.loop = loop
        self.outgoing: asyncio.Queue = asyncio.Queue()
        self.closed = False
        self._started: list[Any] = []

    # Subscriptions register here when created; `activate_started` switches them on once the
    # eth_subscribe response is queued (see `domains.rpc.subscriptions`).
    def subscription_started(self, subscription: Any) -> None:
        self._started.append(subscription)

    def activate_started(self) -> None:
        for subscription in self._started:
            subscription.active = True
        self._started.clear()

    def notify(self, message: dict[str, Any]) -> None:
        """Queue a notification; safe to call from any thread."""
        if self.closed:
            return
        try:
            self.loop.call_soon_threadsafe(self._queue_notification, message)
        except RuntimeError:  # the event loop has shut down under a late notification
            self.closed = True

    def _queue_notification(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        if self.outgoing.qsize() >= MAX_QUEUED_NOTIFICATIONS:
            log.warning("WebSocket client too slow (%d messages queued): disconnecting", self.outgoing.qsize())
            self.closed = True
            asyncio.ensure_future(self.websocket.close(code=WS_CLOSE_TOO_SLOW, reason="too slow"))
            return
        self.outgoing.put_nowait(message)

    def send(self, message: Any) -> None:
        """Queue a response (on the event loop)."""
        self.outgoing.put_nowait(message)

    async def pump(self) -> None:
        """Send queued messages in order until the connection ends."""
        while True:
            message = await self.outgoing.get()
            await self.websocket.send_text(encode_json(message))


def origin_allowed(websocket: WebSocket, origins: tuple[str, ...]) -> bool:
    origin = websocket.headers.get("origin")
    return "*" in origins or origin is None or origin in origins


async def serve_websocket(websocket: WebSocket, gateway: Gateway, run) -> None:
    """Serve one WebSocket connection until the client leaves."""
    if not origin_allowed(websocket, gateway.config.cors_origins):
        await websocket.close(code=WS_CLOSE_POLICY, reason="origin not allowed")
        return
    await websocket.accept()
    connection = WebSocketConnection(websocket, asyncio.get_running_loop())
    pump = asyncio.create_task(connection.pump())
    limit = gateway.config.max_body_bytes
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", errors="replace")
            if len(text) > limit:
                connection.send(error_response(None, InvalidRequest(
                    f"message too large: {len(text)} bytes, the limit is {limit}")))
                continue
            try:
                payload = decode_json(text)
            except RpcError as exc:
                connection.send(error_response(None, exc))
                continue
            result = await run(payload, connection)
            if result is not None:
                connection.send(result)
            connection.activate_started()
    except WebSocketDisconnect:
        pass
    finally:
        connection.closed = True
        gateway.subscriptions.drop_connection(connection)
        pump.cancel()
