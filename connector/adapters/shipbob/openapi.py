"""The ShipBob OpenAPI 3.1 description and validation of requests and responses against it.

OpenAPI 3.1 schemas are JSON Schema 2020-12, so every body is checked with
``jsonschema.Draft202012Validator``. The whole description is registered in a ``referencing``
registry under :data:`BASE_URI`; an operation's schema is validated through a ``$ref`` to its
JSON pointer inside that document (``BASE_URI#/paths/~12026-01~1receiving/post/...``), so the
``$ref``\\ s inside it (``#/components/schemas/...``) resolve against the description itself.

Formats are checked (2020-12 treats ``format`` as an annotation unless a checker is given):
``date-time`` (RFC 3339, offset required), ``int32``/``int64`` (range, and digits when the
value is a string, as for query parameters), ``uri`` (has a scheme), ``uuid``. Others pass
(see :mod:`.formats`).

Parameters (``in: query | path | header``) are checked for presence when required and, after
the HTTP text is coerced to the schema's type, against their schema. Query parameters the
operation does not declare are allowed (OpenAPI does not forbid them; pagination links carry
opaque cursors).

Every problem names where it is: ``$.boxes[0].box_items[0].quantity`` inside a body (a
missing required property is named by its own path), ``query.PageSize``, ``path.id``,
``header.Authorization``, ``status`` for an undocumented status code.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from .formats import format_checker

__all__ = [
    "BASE_URI",
    "DEFAULT_PATH",
    "METHODS",
    "OpenAPIDescription",
    "SchemaProblem",
    "SchemaViolation",
    "iter_operations",
    "load_description",
    "validate_request",
    "validate_response",
]

#: Where the packaged description lives.
DEFAULT_PATH = Path(__file__).parent / "data" / "openapi.json"
#: The URI the description is registered under in the ``referencing`` registry.
BASE_URI = "urn:restock:shipbob:openapi.json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@dataclass(frozen=True)
class SchemaProblem:
    """One place where a message disagrees with the description.

    Attributes:
        path: Where: a JSON path into the body (``$.boxes[0].tracking_number``), or
            ``query.<name>``, ``path.<name>``, ``header.<name>``, ``status``, ``operation``.
        message: What is wrong there.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SchemaViolation(ValueError):
    """A request or response that does not match the description.

    Attributes:
        what: Which message, e.g. ``"POST /2026-01/receiving request"``.
        problems: Every :class:`SchemaProblem` found, in document order.
    """

    def __init__(self, what: str, problems: list[SchemaProblem]) -> None:
        self.what = what
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:5])
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"{what} does not match the ShipBob description: {shown}{more}")

    @property
    def paths(self) -> list[str]:
        """The paths of every problem."""
        return [p.path for p in self.problems]


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _problem_path(error) -> str:
    path = error.json_path
    if error.validator == "required" and isinstance(error.instance, dict):
        for name in error.validator_value:
            if name not in error.instance and error.message.startswith(repr(name)):
                return f"{path}.{name}" if re.fullmatch(r"\w+", name) else f"{path}[{name!r}]"
    return path


def _coerce(value: str, schema: Mapping[str, Any]) -> Any:
    """Turn HTTP text into the JSON type a parameter's schema declares, when it reads as one."""
    types = schema.get("type", "string")
    types = [types] if isinstance(types, str) else list(types)
    text = value.strip()
    if "integer" in types and re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if "number" in types:
        try:
            return float(text)
        except ValueError:
            pass
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if "array" in types:
        return [part for part in text.split(",") if part]
    return value


class OpenAPIDescription:
    """One loaded OpenAPI 3.1 description, with validators compiled on first use.

    Args:
        document: The parsed description.
    """

    def __init__(self, document: dict) -> None:
        self.document = document
        resource = DRAFT202012.create_resource(document)
        self._registry = Registry().with_resource(BASE_URI, resource)
        self._checker = format_checker()
        self._validators: dict[str, Draft202012Validator] = {}
        self._templates = [
            (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "([^/]+)", re.escape(t)) + "$"),
             re.findall(r"\{([^/]+?)\}", t), t)
            for t in document.get("paths", {})
        ]

    @classmethod
    def from_file(cls, path: str | Path) -> "OpenAPIDescription":
        """Load a description from a JSON file."""
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh))

    # ------------------------------------------------------------------ lookup
    @property
    def path_templates(self) -> list[str]:
        """Every path template the description has."""
        return list(self.document.get("paths", {}))

    def operation(self, method: str, path_template: str) -> dict:
        """The operation object for ``method`` and ``path_template``.

        Raises:
            SchemaViolation: the description has no such operation.
        """
        op = self.document.get("paths", {}).get(path_template, {}).get(method.lower())
        if op is None:
            raise SchemaViolation(f"{method.upper()} {path_template}", [SchemaProblem(
                "operation", "the description has no such operation")])
        return op

    def parameters(self, method: str, path_template: str) -> list[dict]:
        """Path-level and operation-level parameters, the operation's winning on a clash."""
        item = self.document["paths"][path_template]
        merged = {(p["in"], p["name"]): p for p in item.get("parameters", [])}
        merged.update({(p["in"], p["name"]): p
                       for p in self.operation(method, path_template).get("parameters", [])})
        return list(merged.values())

    def match(self, method: str, path: str) -> tuple[str, dict[str, str]] | None:
        """Find the template a concrete path belongs to.

        Returns:
            ``(template, path_params)``, or None when no template with that method matches.
            A literal template wins over one with parameters.
        """
        found = None
        for pattern, names, template in self._templates:
            m = pattern.match(path)
            if m and method.lower() in self.document["paths"][template]:
                params = dict(zip(names, m.groups()))
                if not params:
                    return template, params
                found = found or (template, params)
        return found

    def schema(self, name: str) -> dict:
        """A component schema by name (``Receiving.CreateReceivingOrderModel``)."""
        return self.document["components"]["schemas"][name]

    def bearer_scheme(self) -> str | None:
        """Name of the first HTTP bearer security scheme, or None."""
        for name, scheme in self.document.get("components", {}).get(
                "securitySchemes", {}).items():
            if scheme.get("type") == "http" and scheme.get("scheme", "").lower() == "bearer":
                return name
        return None

    def response_schema(self, method: str, path_template: str,
                        status: int) -> tuple[str, dict | None] | None:
        """The documented response for a status: ``(pointer, schema)`` or None if undocumented.

        ``schema`` is None when the response has no JSON content (e.g. a 204).
        """
        responses = self.operation(method, path_template).get("responses", {})
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in responses:
                content = responses[key].get("content") or {}
                base = self._op_pointer(method, path_template) + f"/responses/{_escape(key)}"
                if "application/json" in content:
                    return (base + "/content/application~1json/schema",
                            content["application/json"].get("schema", {}))
                return base, None
        return None

    # ------------------------------------------------------------------ validation
    def validate_request(self, method: str, path_template: str, body: Any = None, *,
                         params: Mapping[str, Any] | None = None,
                         headers: Mapping[str, str] | None = None,
                         path_params: Mapping[str, Any] | None = None) -> None:
        """Check a request against its operation.

        Args:
            method: HTTP method.
            path_template: The description's path key (``/2026-01/receiving/{id}``).
            body: The JSON body, or None for none.
            params: Query parameters (values as sent: text, or lists of text); None skips them.
            headers: Request headers; None skips header parameters.
            path_params: Values of the template's ``{name}`` segments; None skips them.

        Raises:
            SchemaViolation: naming every offending field.
        """
        op = self.operation(method, path_template)
        what = f"{method.upper()} {path_template} request"
        problems: list[SchemaProblem] = []
        sources = {"query": params, "header": headers, "path": path_params}
        for param in self.parameters(method, path_template):
            where = param["in"]
            values = sources.get(where)
            if values is None:
                continue
            value = _lookup(values, param["name"], case_insensitive=where == "header")
            if value is None:
                if param.get("required") or where == "path":
                    problems.append(SchemaProblem(f"{where}.{param['name']}",
                                                  "required parameter is missing"))
                continue
            schema = param.get("schema", {})
            values_list = value if isinstance(value, (list, tuple)) else [value]
            for item in values_list:
                coerced = _coerce(str(item), schema) if not isinstance(item, bool) else item
                for err in self._compiled_inline(schema).iter_errors(coerced):
                    problems.append(SchemaProblem(f"{where}.{param['name']}", err.message))
        request_body = op.get("requestBody")
        if request_body is None:
            if body is not None:
                problems.append(SchemaProblem("$", "this operation takes no request body"))
        elif body is None:
            if request_body.get("required"):
                problems.append(SchemaProblem("$", "a request body is required"))
        else:
            content = request_body.get("content", {})
            if "application/json" not in content:
                problems.append(SchemaProblem("$", "the operation takes no JSON body"))
            else:
                pointer = (self._op_pointer(method, path_template)
                           + "/requestBody/content/application~1json/schema")
                problems.extend(self._body_problems(pointer, body))
        if problems:
            raise SchemaViolation(what, problems)

    def validate_response(self, method: str, path_template: str, status: int,
                          body: Any) -> None:
        """Check a response's status and JSON body against its operation.

        Args:
            body: The parsed JSON body, or None when the body was empty.

        Raises:
            SchemaViolation: the status is undocumented or the body does not match.
        """
        what = f"{method.upper()} {path_template} response {status}"
        found = self.response_schema(method, path_template, status)
        if found is None:
            raise SchemaViolation(what, [SchemaProblem(
                "status", f"status {status} is not documented for this operation")])
        pointer, schema = found
        if schema is None:
            if body not in (None, "", b""):
                raise SchemaViolation(what, [SchemaProblem(
                    "$", "the description documents no body for this response")])
            return
        if body is None and not ({"type", "$ref", "oneOf", "anyOf", "allOf"} & set(schema)):
            return  # "Any type": an empty body is fine too
        problems = self._body_problems(pointer, body)
        if problems:
            raise SchemaViolation(what, problems)

    # ------------------------------------------------------------------ internals
    def _op_pointer(self, method: str, path_template: str) -> str:
        return f"#/paths/{_escape(path_template)}/{method.lower()}"

    def _compiled(self, pointer: str) -> Draft202012Validator:
        validator = self._validators.get(pointer)
        if validator is None:
            validator = Draft202012Validator({"$ref": BASE_URI + pointer},
                                             registry=self._registry,
                                             format_checker=self._checker)
            self._validators[pointer] = validator
        return validator

    def _compiled_inline(self, schema: Mapping[str, Any]) -> Draft202012Validator:
        key = "inline:" + json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            validator = Draft202012Validator(dict(schema), format_checker=self._checker)
            self._validators[key] = validator
        return validator

    def _body_problems(self, pointer: str, body: Any) -> list[SchemaProblem]:
        errors = sorted(self._compiled(pointer).iter_errors(body),
                        key=lambda e: [str(p) for p in e.absolute_path])
        out = []
        for err in errors:
            if err.context and err.validator in ("oneOf", "anyOf"):
                # Say why the closest alternative failed, not just "is not valid under any".
                deepest = max(err.context, key=lambda e: len(e.absolute_path))
                out.append(SchemaProblem(_problem_path(deepest),
                                         f"{deepest.message} (no alternative of "
                                         f"{err.validator} matches)"))
            else:
                out.append(SchemaProblem(_problem_path(err), err.message))
        return out


def _lookup(values: Mapping[str, Any], name: str, *, case_insensitive: bool) -> Any:
    if hasattr(values, "getlist") and not case_insensitive:
        found = values.getlist(name)
        return found if len(found) > 1 else (found[0] if found else None)
    if name in values:
        return values[name]
    if case_insensitive:
        lowered = name.lower()
        for key, value in values.items():
            if key.lower() == lowered:
                return value
    return None


@lru_cache(maxsize=4)
def _load_cached(path: str) -> OpenAPIDescription:
    return OpenAPIDescription.from_file(path)


def load_description(path: str | Path | None = None) -> OpenAPIDescription:
    """The description at ``path`` (the packaged copy by default), loaded once per path."""
    return _load_cached(str(Path(path or DEFAULT_PATH).resolve()))


def validate_request(method: str, path_template: str, body: Any = None,
                     **kwargs: Any) -> None:
    """Check a request against the packaged description (see
    :meth:`OpenAPIDescription.validate_request` for the keyword arguments).

    Raises:
        SchemaViolation: naming the JSON path of every offending field.
    """
    load_description().validate_request(method, path_template, body, **kwargs)


def validate_response(method: str, path_template: str, status: int, body: Any) -> None:
    """Check a response against the packaged description.

    Raises:
        SchemaViolation: naming the JSON path of every offending field.
    """
    load_description().validate_response(method, path_template, status, body)


def iter_operations(description: OpenAPIDescription) -> Iterable[tuple[str, str, dict]]:
    """Yield ``(method, path_template, operation)`` for every operation."""
    for template, item in description.document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield method, template, item[method]
