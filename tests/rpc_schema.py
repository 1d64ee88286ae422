"""The `ethereum/execution-apis` JSON-RPC specification and conformance fixtures, as test data.

The vendored copy lives in `tests/data/execution-apis/` (see its `SOURCE.md`):

- `src/{eth,debug,txpool}/*.yaml`: lists of OpenRPC method objects. Each method's
  `result.schema` is a JSON Schema (draft 2019-09) whose `$ref`s point at
  `#/components/schemas/<Name>`.
- `src/schemas/*.yaml`: mappings `<Name>: <schema>`; together they form
  `components.schemas` of the assembled OpenRPC document.
- `tests/<method>/<test>.io`: recorded round trips against the chain in
  `tests/genesis.json` + `tests/chain.rlp`, in the format read by the hive `rpc-compat`
  simulator (see `load_io_fixtures`).

The module assembles one document from the YAML files, the way the repository's own `specgen`
tool does, and validates results with `jsonschema` against it:

    validate_result("eth_getBlockByNumber", block)   # AssertionError on mismatch
    method_names()                                   # every eth/debug/txpool method
    load_io_fixtures()                               # every recorded round trip
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft201909Validator
from jsonschema.exceptions import SchemaError, ValidationError
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT201909

DATA_DIR = Path(__file__).resolve().parent / "data" / "execution-apis"
SPEC_DIR = DATA_DIR / "src"
FIXTURE_DIR = DATA_DIR / "tests"

#: Directories of `SPEC_DIR` holding method definitions (the engine API is out of scope).
METHOD_DIRS = ("eth", "debug", "txpool")
#: Directory of `SPEC_DIR` holding the shared schema definitions.
SCHEMA_DIR = "schemas"

#: Base URI under which the assembled document is registered for `$ref` resolution.
SPEC_URI = "urn:ethereum:execution-apis"
_COMPONENT_PREFIX = "#/components/schemas/"

#: Longest rendering of an offending value kept in a validation message.
_MAX_VALUE_CHARS = 200


class SpecError(Exception):
    """The vendored specification is malformed: duplicate names, dangling `$ref`s, bad schemas."""


class UnknownMethodError(KeyError):
    """A method name that the specification does not define."""

    def __str__(self) -> str:
        return f"method {self.args[0]!r} is not defined in the execution-apis specification"


class FixtureFormatError(ValueError):
    """An `.io` fixture file that does not follow the round-trip format."""


# --------------------------------------------------------------------------------------
# Specification


@dataclass(frozen=True)
class _Spec:
    """The assembled specification: raw method objects, shared schemas and a `$ref` registry."""

    methods: dict[str, dict[str, Any]]
    schemas: dict[str, Any]
    registry: Registry


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@functools.cache
def _spec() -> _Spec:
    """Read every method and schema file once and build the `$ref` registry."""
    schemas: dict[str, Any] = {}
    for path in sorted((SPEC_DIR / SCHEMA_DIR).glob("*.yaml")):
        content = _read_yaml(path)
        if not isinstance(content, dict):
            raise SpecError(f"{path}: expected a mapping of schema names to schemas")
        for name, schema in content.items():
            if name in schemas:
                raise SpecError(f"{path}: schema {name!r} is defined twice")
            schemas[name] = schema

    methods: dict[str, dict[str, Any]] = {}
    for directory in METHOD_DIRS:
        for path in sorted((SPEC_DIR / directory).glob("*.yaml")):
            content = _read_yaml(path)
            if not isinstance(content, list):
                raise SpecError(f"{path}: expected a list of method objects")
            for method in content:
                name = method.get("name") if isinstance(method, dict) else None
                if not isinstance(name, str):
                    raise SpecError(f"{path}: method object without a name: {method!r:.80}")
                if name in methods:
                    raise SpecError(f"{path}: method {name!r} is defined twice")
                methods[name] = method
    if not methods:
        raise SpecError(f"no method definitions found under {SPEC_DIR}")

    document = {"components": {"schemas": schemas}, "methods": methods}
    resource = Resource(contents=document, specification=DRAFT201909)
    registry = Registry().with_resource(SPEC_URI, resource).crawl()
    return _Spec(methods=methods, schemas=schemas, registry=registry)


def method_names() -> set[str]:
    """Names of every method the specification defines under `eth/`, `debug/` and `txpool/`."""
    return set(_spec().methods)


def method_spec(method: str) -> dict[str, Any]:
    """The raw OpenRPC method object (`name`, `params`, `result`, `errors`, ...) of `method`."""
    try:
        return _spec().methods[method]
    except KeyError:
        raise UnknownMethodError(method) from None


def result_schema(method: str) -> dict[str, Any]:
    """The `result.schema` of `method`, with its `$ref`s left in place."""
    result = method_spec(method).get("result")
    if not isinstance(result, dict) or not isinstance(result.get("schema"), dict):
        raise SpecError(f"{method}: the method has no result schema")
    return result["schema"]


def _refs(node: Any) -> Iterator[str]:
    """Every `$ref` value in a schema tree, without following them."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


@functools.cache
def result_validator(method: str) -> Draft201909Validator:
    """A compiled validator for `method`'s result.

    Checks the schema against the 2019-09 metaschema and resolves every `$ref` reachable from
    it (jsonschema resolves lazily, so a dangling reference would otherwise only surface when a
    value happens to reach it). Raises `SpecError` if either fails.
    """
    spec = _spec()
    schema = result_schema(method)
    try:
        Draft201909Validator.check_schema(schema)
    except SchemaError as exc:
        raise SpecError(f"{method}: result schema is invalid: {exc.message}") from exc

    resolver = spec.registry.resolver(base_uri=SPEC_URI)
    pending, seen = list(_refs(schema)), set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        if not ref.startswith(_COMPONENT_PREFIX):
            raise SpecError(f"{method}: unsupported $ref {ref!r} (expected {_COMPONENT_PREFIX}...)")
        try:
            target = resolver.lookup(ref).contents
        except Unresolvable as exc:
            raise SpecError(f"{method}: $ref {ref!r} does not resolve") from exc
        try:
            Draft201909Validator.check_schema(target)
        except SchemaError as exc:
            raise SpecError(f"{method}: schema {ref!r} is invalid: {exc.message}") from exc
        pending.extend(_refs(target))

    pointer = f"{SPEC_URI}#/methods/{method}/result/schema"
    return Draft201909Validator({"$ref": pointer}, registry=spec.registry)


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value)) or ("integer" if isinstance(value, int) else "number")


def _describe_leaf(error: ValidationError) -> str:
    """`at <JSON path>: <reason> [<keyword> of <schema title>]` for one failing keyword."""
    value = _shorten(json.dumps(error.instance, sort_keys=True, default=str))
    if error.validator == "type":
        shown = "" if isinstance(error.instance, (dict, list, type(None))) else f" {value}"
        reason = f"expected type {error.validator_value!r}, got {_json_type(error.instance)}{shown}"
    elif error.validator == "required":
        reason = error.message
    else:
        # jsonschema messages usually start with the value's Python repr: show it as JSON.
        message, instance_repr = error.message, repr(error.instance)
        if message.startswith(instance_repr):
            message = message[len(instance_repr) :].lstrip()
        reason = f"{value} {_shorten(message)}" if message else value
    title = error.schema.get("title") if isinstance(error.schema, dict) else None
    where = f"{error.validator} of {title!r}" if title else str(error.validator)
    return f"at {error.json_path}: {reason} [{where}]"


def _is_type_mismatch(branch: list[ValidationError]) -> bool:
    """Whether an alternative failed only because the value itself has another JSON type.

    Such an alternative (`notFound` when the value is an object) cannot be the one meant.
    Type errors deeper inside the value do not count: they may be the very mistake to report.
    """
    return all(error.validator == "type" and not error.path for error in branch)


def _explain(error: ValidationError) -> tuple[int, list[str]]:
    """Explain a failure as `(number of failing keywords, descriptions)`.

    `oneOf`/`anyOf` failures are explained through their alternatives. Alternatives that fail
    only on the value's own JSON type are dropped (if that is all of them, the failure is a
    type mismatch); of the others only the closest ones, with the fewest failing keywords
    (counted recursively), are kept. A single closest alternative is described directly: for a
    legacy transaction with a bad `gas`, the `gas` failure, not the four other transaction
    types it also fails to be. Several are listed, in schema order.
    """
    if not error.context:
        return 1, [_describe_leaf(error)]
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    relevant = {k: v for k, v in branches.items() if not _is_type_mismatch(v)}
    if not relevant:
        expected = sorted({str(sub.validator_value) for sub in error.context})
        got = _json_type(error.instance)
        return 1, [f"at {error.json_path}: expected type {' or '.join(expected)}, got {got} "
                   f"[{error.validator}]"]
    explained = {}
    for index, branch in relevant.items():
        parts = [_explain(sub) for sub in branch]
        explained[index] = (sum(cost for cost, _ in parts), [d for _, ds in parts for d in ds])
    fewest = min(cost for cost, _ in explained.values())
    closest = {index: texts for index, (cost, texts) in explained.items() if cost == fewest}
    if len(closest) == 1:
        (texts,) = closest.values()
        return fewest, texts
    alternatives = " | ".join(f"alternative {i}: " + "; ".join(t) for i, t in closest.items())
    summary = f"at {error.json_path}: no alternative of {error.validator} matched, closest: "
    return fewest, [summary + alternatives]


def result_errors(method: str, result: Any) -> list[str]:
    """Every reason `result` does not validate against `method`'s result schema (empty if valid).

    Each reason reads `<method>: result at <JSON path>: <value> <reason> [<keyword> of
    <schema title>]`, e.g. `eth_getBlockByNumber: result at $.number: "54" does not match
    '^0x(0|[1-9a-f][0-9a-f]*)$' [pattern of 'hex encoded unsigned integer']`; `oneOf`/`anyOf`
    failures are explained through their closest alternatives (see `_explain`).
    """
    validator = result_validator(method)
    return [
        f"{method}: result {text}"
        for error in validator.iter_errors(result)
        if not _is_spec_ambiguity(error)
        for text in _explain(error)[1]
    ]


def _is_spec_ambiguity(error: ValidationError) -> bool:
    """An empty array under a `oneOf` of array schemas (`FilterResults`: logs, or hashes).

    Every alternative accepts `[]`, so a strict `oneOf` rejects the empty result that the
    methods return whenever nothing matched. That is the specification's ambiguity, not the
    result's fault: the empty array is valid under each alternative and is accepted."""
    return error.validator == "oneOf" and error.instance == [] and not error.context


def validate_result(method: str, result: Any) -> None:
    """Raise `AssertionError` if `result` is not a valid result of `method`.

    The message names the method, the JSON path of the offending value (`$.hash`,
    `$.transactions[1].v`, ...) and the failing schema keyword. Raises `UnknownMethodError` for
    a method the specification does not define.
    """
    errors = result_errors(method, result)
    if errors:
        more = f" (and {len(errors) - 1} more: {'; '.join(errors[1:3])})" if len(errors) > 1 else ""
        raise AssertionError(errors[0] + more)


# --------------------------------------------------------------------------------------
# Fixtures


@dataclass(frozen=True)
class Exchange:
    """One request and the response recorded for it."""

    request: dict[str, Any]
    response: dict[str, Any]
    line: int  # 1-based line of the request in its file

    @property
    def method(self) -> str:
        """The JSON-RPC method of the request."""
        return self.request["method"]

    @property
    def params(self) -> list[Any]:
        """The request's positional parameters (empty when the request has none)."""
        return self.request.get("params") or []

    @property
    def is_error(self) -> bool:
        """Whether the recorded response is a JSON-RPC error object rather than a result."""
        return "error" in self.response

    @property
    def result(self) -> Any:
        """The recorded `result`; raises `KeyError` for an error response."""
        return self.response["result"]


@dataclass(frozen=True)
class Fixture:
    """One `.io` file: a header comment and one or more request/response exchanges.

    `speconly` fixtures (a header comment line starting with `speconly:`) record a response
    that is only an example: hive checks a client's response against the result schema, not
    for equality with the recording.
    """

    name: str  # "<method>/<test>", the path below FIXTURE_DIR without ".io"
    path: Path
    comment: str
    speconly: bool
    exchanges: tuple[Exchange, ...]

    @property
    def method(self) -> str:
        """The method under test: the fixture's directory name, as the repository lays them out."""
        return self.name.split("/", 1)[0]

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The requests, in file order."""
        return [exchange.request for exchange in self.exchanges]

    @property
    def responses(self) -> list[dict[str, Any]]:
        """The expected responses, in file order."""
        return [exchange.response for exchange in self.exchanges]


def _parse_message(path: Path, number: int, text: str) -> dict[str, Any]:
    try:
        message = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FixtureFormatError(f"{path}:{number}: invalid JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise FixtureFormatError(
            f"{path}:{number}: expected one JSON-RPC object, got {type(message).__name__}"
        )
    return message


def parse_io(path: Path, name: str | None = None) -> Fixture:
    """Parse one `.io` file.

    The format, as read by hive's `rpc-compat` simulator: lines are stripped; blank lines are
    skipped; `//` lines before the first message form the test's comment (a line whose text
    starts with `speconly:` marks the fixture spec-only) and later `//` lines are ignored;
    `>>` introduces a request and `<<` the response to the preceding request, each followed by
    one JSON object. Anything else is a `FixtureFormatError`, as is a response without a
    request, a request without a response, or a response whose `id` differs from its request's.
    """
    comment_lines: list[str] = []
    speconly = False
    in_header = True
    pending: tuple[int, dict[str, Any]] | None = None
    exchanges: list[Exchange] = []

    with path.open(encoding="utf-8") as fh:
        for number, raw in enumerate(fh, start=1):
            line = raw.strip()
            if not line:
                continue
            if line.startswith("//"):
                if in_header:
                    text = line[2:].removeprefix(" ")
                    comment_lines.append(text)
                    speconly = speconly or text.startswith("speconly:")
                continue
            if line.startswith(">>"):
                in_header = False
                if pending is not None:
                    raise FixtureFormatError(
                        f"{path}:{number}: request before the previous one's response"
                    )
                request = _parse_message(path, number, line[2:].strip())
                if not isinstance(request.get("method"), str):
                    raise FixtureFormatError(f"{path}:{number}: request has no method")
                pending = (number, request)
            elif line.startswith("<<"):
                in_header = False
                if pending is None:
                    raise FixtureFormatError(f"{path}:{number}: response without a request")
                response = _parse_message(path, number, line[2:].strip())
                request_line, request = pending
                if response.get("id") != request.get("id"):
                    raise FixtureFormatError(
                        f"{path}:{number}: response id {response.get('id')!r} "
                        f"does not match request id {request.get('id')!r}"
                    )
                if ("result" in response) == ("error" in response):
                    raise FixtureFormatError(
                        f"{path}:{number}: response needs exactly one of result/error"
                    )
                exchanges.append(Exchange(request=request, response=response, line=request_line))
                pending = None
            else:
                raise FixtureFormatError(f"{path}:{number}: invalid line {line[:60]!r}")

    if pending is not None:
        raise FixtureFormatError(f"{path}:{pending[0]}: request without a response")
    if not exchanges:
        raise FixtureFormatError(f"{path}: no request/response exchange")
    return Fixture(
        name=name or path.stem,
        path=path,
        comment="\n".join(comment_lines),
        speconly=speconly,
        exchanges=tuple(exchanges),
    )


@functools.cache
def _load_io_fixtures() -> tuple[Fixture, ...]:
    fixtures = []
    for path in sorted(FIXTURE_DIR.glob("*/*.io")):
        name = path.relative_to(FIXTURE_DIR).with_suffix("").as_posix()
        fixtures.append(parse_io(path, name))
    if not fixtures:
        raise FixtureFormatError(f"no .io fixtures found under {FIXTURE_DIR}")
    return tuple(fixtures)


def load_io_fixtures() -> list[Fixture]:
    """Every `tests/<method>/<test>.io` fixture, sorted by name."""
    return list(_load_io_fixtures())
