"""JSON-RPC 2.0 dispatch: requests and batches in, responses out, parameters bound by name.

A method is registered with its parameters, each a name and a parser (`domains.rpc.params`):

    table = MethodTable()

    @table.method("eth_getBalance", Param("address", address), Param("block", block_ref, default=LATEST))
    def get_balance(ctx, address, block): ...

`Dispatcher.handle(payload, ctx)` takes the decoded JSON body (one request object or a batch
array) and returns what to send back (a response object, a list of them, or None when there is
nothing to answer). The rules (JSON-RPC 2.0, as geth applies them):
- a request without an `id` member is a notification: it runs, and gets no response element;
- a batch answers every non-notification element, in request order; an empty batch, or one
  longer than `max_batch`, is a single -32600 error;
- an element that is not a request object gets a -32600 error with `id: null`;
- params are positional (an array, or absent / null for none); absent or null trailing
  optional params take their defaults; too many, a missing required one, or a malformed one is
  -32602 naming the argument's position and name;
- an unknown method is -32601; an `RpcError` raised by a handler is answered as is; any other
  exception is logged and answered as -32603 with its type and message: the server keeps serving.

Dispatch is synchronous: the transport runs it on a worker thread (`domains.rpc.server`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from domains.evm import execution
from domains.rpc.errors import InternalError, InvalidParams, InvalidRequest, MethodNotFound, RpcError
from domains.rpc.params import ParamError, json_type, shorten

log = logging.getLogger("autonomys.rpc")

#: Seconds of EVM execution (eth_call, eth_estimateGas, tracing, simulation) one batch may
#: spend in all, beside each call's own 5 s timeout: the requests of a batch run one after
#: another. 30 s is what HTTP clients commonly wait for an answer.
BATCH_EVM_BUDGET = 30.0

_MISSING = object()


@dataclass(frozen=True)
class Param:
    """One positional parameter: its name (for error messages), parser and default.

    A parameter without a `default` is required."""

    name: str
    parse: Callable[[Any], Any]
    default: Any = _MISSING

    @property
    def required(self) -> bool:
        return self.default is _MISSING


@dataclass(frozen=True)
class Method:
    """A registered method: `handler(ctx, *bound_params)`."""

    name: str
    handler: Callable[..., Any]
    params: tuple[Param, ...] = ()

    def bind(self, raw: Any) -> list[Any]:
        """The parsed positional arguments for `raw` params, or `InvalidParams`."""
        if raw is None:
            raw = []
        if isinstance(raw, dict):
            raise InvalidParams("params must be an array (by-position parameters)")
        if not isinstance(raw, list):
            raise InvalidParams(f"params must be an array, got {type(raw).__name__}")
        if len(raw) > len(self.params):
            raise InvalidParams(f"too many arguments, want at most {len(self.params)}")
        values = []
        for index, param in enumerate(self.params):
            value = raw[index] if index < len(raw) else None
            if value is None:
                if param.required:
                    raise InvalidParams(f"missing value for required argument {index} ({param.name})")
                values.append(param.default)
                continue
            try:
                values.append(param.parse(value))
            except ParamError as exc:
                raise InvalidParams(f"invalid argument {index} ({param.name}): {exc}") from None
        return values


@dataclass
class MethodTable:
    """Methods by name; tables from several modules are merged into one dispatcher."""

    methods: dict[str, Method] = field(default_factory=dict)

    def method(self, name: str, *params: Param) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator registering `handler(ctx, *params)` as `name`."""

        def register(handler: Callable[..., Any]) -> Callable[..., Any]:
            if name in self.methods:
                raise ValueError(f"method {name} registered twice")
            self.methods[name] = Method(name=name, handler=handler, params=tuple(params))
            return handler

        return register

    def merge(self, others: Iterable["MethodTable"]) -> "MethodTable":
        for other in others:
            for name, method in other.methods.items():
                if name in self.methods:
                    raise ValueError(f"method {name} registered twice")
                self.methods[name] = method
        return self


def response(request_id: Any, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_response(request_id: Any, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}


class Dispatcher:
    """Runs JSON-RPC payloads against a method table (see the module docstring)."""

    def __init__(self, methods: Mapping[str, Method], *, max_batch: int = 1000) -> None:
        self.methods = dict(methods)
        self.max_batch = max_batch

    def handle(self, payload: Any, ctx: Any) -> Any:
        """The response(s) for one decoded payload, or None when nothing is to be sent."""
        if isinstance(payload, list):
            return self.handle_batch(payload, ctx)
        return self.handle_request(payload, ctx)

    def handle_batch(self, batch: list, ctx: Any) -> Any:
        if not batch:
            return error_response(None, InvalidRequest("empty batch"))
        if len(batch) > self.max_batch:
            return error_response(None, InvalidRequest(
                f"batch too large: {len(batch)} requests, at most {self.max_batch}"))
        with execution.evm_budget(BATCH_EVM_BUDGET):
            responses = [self.handle_request(item, ctx) for item in batch]
        answered = [r for r in responses if r is not None]
        return answered or None

    def handle_request(self, request: Any, ctx: Any) -> dict[str, Any] | None:
        """The response to one request object (None for a notification)."""
        problem = _request_problem(request)
        if problem is not None:
            request_id = request.get("id") if isinstance(request, dict) and _valid_id(request.get("id")) else None
            return error_response(request_id, InvalidRequest(problem))
        is_notification = "id" not in request
        request_id = request.get("id")
        try:
            result = self.call(request["method"], request.get("params"), ctx)
        except RpcError as exc:
            return None if is_notification else error_response(request_id, exc)
        return None if is_notification else response(request_id, result)

    def call(self, name: str, params: Any, ctx: Any) -> Any:
        """Run method `name` with raw `params`; raises `RpcError`."""
        method = self.methods.get(name)
        if method is None:
            raise MethodNotFound(name)
        args = method.bind(params)
        try:
            return method.handler(ctx, *args)
        except RpcError:
            raise
        except Exception as exc:  # a bug or an unexpected state: answer it, keep serving
            log.exception("%s failed", name)
            raise InternalError(f"internal error in {name}: {type(exc).__name__}: {exc}") from exc


def _valid_id(value: Any) -> bool:
    return value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool))


def _request_problem(request: Any) -> str | None:
    """Why `request` is not a JSON-RPC 2.0 request object, or None if it is one."""
    if not isinstance(request, dict):
        return f"invalid request: expected a JSON object, got {json_type(request)}"
    if "jsonrpc" in request and request["jsonrpc"] != "2.0":
        return f"invalid request: jsonrpc must be \"2.0\", got {shorten(json.dumps(request['jsonrpc']))}"
    if not isinstance(request.get("method"), str) or not request["method"]:
        return "invalid request: method must be a non-empty string"
    if "id" in request and not _valid_id(request["id"]):
        return "invalid request: id must be a string, a number or null"
    return None
