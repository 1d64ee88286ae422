"""JSON-RPC error types, each with the code clients match on.

Codes follow JSON-RPC 2.0 (-32700 .. -32603), EIP-1474 (-32000 .. -32005) and geth, whose
messages wallets and libraries parse:

- -32700 parse error, -32600 invalid request, -32601 method not found, -32602 invalid params,
  -32603 internal error;
- 3 `execution reverted: <reason>` with the revert bytes as `data` (viem and ethers read the
  reason from there; -32000 would lose it, -32603 makes viem retry);
- -32000 server errors with geth's text ("header not found", "filter not found", the pool's
  rejections);
- -32001 resource not found (data this node cannot have, e.g. pre-Amsterdam block access lists);
- -32004 method not supported (a method that exists but is switched off, e.g. the dev signer);
- -32005 limit exceeded (log query ranges and result sizes).
"""

from __future__ import annotations

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000
RESOURCE_NOT_FOUND = -32001
METHOD_NOT_SUPPORTED = -32004
LIMIT_EXCEEDED = -32005
EXECUTION_REVERTED = 3


class RpcError(Exception):
    """An error answered to the client as a JSON-RPC error object."""

    code = INTERNAL_ERROR

    def __init__(self, message: str, *, data: Any = None, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data
        if code is not None:
            self.code = code

    def to_json(self) -> dict[str, Any]:
        """The JSON-RPC `error` member."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class ParseError(RpcError):
    """The request body is not JSON."""

    code = PARSE_ERROR


class InvalidRequest(RpcError):
    """The JSON is not a JSON-RPC 2.0 request (or batch), or is too large."""

    code = INVALID_REQUEST


class MethodNotFound(RpcError):
    """No such method on this gateway."""

    code = METHOD_NOT_FOUND

    def __init__(self, method: str) -> None:
        super().__init__(f"the method {method} does not exist/is not available")


class InvalidParams(RpcError):
    """A parameter is missing, extra, or malformed; the message names it."""

    code = INVALID_PARAMS


class InternalError(RpcError):
    """Something failed inside the node; the server keeps serving."""

    code = INTERNAL_ERROR


class ServerError(RpcError):
    """geth's generic -32000: the request is well-formed but cannot be served as asked."""

    code = SERVER_ERROR


class HeaderNotFound(ServerError):
    """A state query named a block this node does not have."""

    def __init__(self, message: str = "header not found") -> None:
        super().__init__(message)


class ResourceNotFound(RpcError):
    """The block exists but the requested data does not exist for it."""

    code = RESOURCE_NOT_FOUND


class MethodNotSupported(RpcError):
    """A method that exists but is switched off on this node."""

    code = METHOD_NOT_SUPPORTED


class LimitExceeded(RpcError):
    """A query asks for more than the node's configured limits allow."""

    code = LIMIT_EXCEEDED


class ExecutionReverted(RpcError):
    """A call or gas estimate reverted: code 3, `execution reverted[: reason]`, data = revert bytes."""

    code = EXECUTION_REVERTED

    def __init__(self, reason: str | None, revert_data: bytes) -> None:
        message = f"execution reverted: {reason}" if reason else "execution reverted"
        super().__init__(message, data="0x" + bytes(revert_data).hex())
