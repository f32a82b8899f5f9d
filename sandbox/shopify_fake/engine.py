"""One GraphQL request through the real Admin schema: parse, validate, cost, bucket, execute.

:class:`GraphQLEndpoint` answers like Shopify:

* a syntax error, an unknown or a deprecated field (``NoDeprecatedCustomRule``) -> HTTP 200
  with ``errors`` (``message``, ``locations``, ``extensions.code``) and no ``data``;
* requested cost (:func:`connector.adapters.shopify.schema.estimate_cost`) over the
  single-query limit -> ``MAX_COST_EXCEEDED``; a connection without ``first``/``last`` -> an
  error saying so;
* the bucket cannot pay the requested cost -> ``THROTTLED`` (nothing is charged);
* otherwise the query runs with resolvers over the store; the actual cost (1 per object
  returned, 2 per connection, 10 per mutation field) is charged and the rest given back.

Every answer carries ``extensions.cost`` with ``throttleStatus``.
"""
from __future__ import annotations

import re
from collections import OrderedDict

from graphql import (GraphQLError, GraphQLSchema, NoDeprecatedCustomRule, OperationDefinitionNode,
                     OperationType, execute, parse, specified_rules, validate)

from connector.adapters.shopify.schema import estimate_cost

from .marketing import MarketingRoot
from .mutations import MutationRoot
from .nodes import FakeContext
from .resources import QueryRoot
from .store import FakeStore
from .timing import LeakyBucket

__all__ = ["GraphQLEndpoint", "Root", "actual_cost", "shopify_error"]

_RULES = (*specified_rules, NoDeprecatedCustomRule)
_CODES = ((re.compile(r"^Cannot query field"), "undefinedField"),
          (re.compile(r"is deprecated"), "deprecatedField"),
          (re.compile(r"^Unknown argument"), "argumentNotAccepted"),
          (re.compile(r"argument .* is required"), "missingRequiredArguments"),
          (re.compile(r"^Unknown type"), "undefinedType"),
          (re.compile(r"^Variable"), "variableMismatch"))


class Root(MarketingRoot, QueryRoot, MutationRoot):
    """The root value: query and mutation resolvers."""


def shopify_error(error: GraphQLError, code: str) -> dict:
    """A GraphQL error in Shopify's shape."""
    out: dict = {"message": error.message}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        out["path"] = list(error.path)
    out["extensions"] = {"code": code, **(error.extensions or {})}
    return out


def _validation_code(message: str) -> str:
    for pattern, code in _CODES:
        if pattern.search(message):
            return code
    return "GRAPHQL_VALIDATION_FAILED"


def _execution_code(error: GraphQLError) -> str:
    """``BAD_REQUEST`` for a refused argument, ``INTERNAL_SERVER_ERROR`` for the rest (a
    non-null field the fake does not model, a bug)."""
    original = error.original_error
    if error.message.startswith("Cannot return null"):
        return "INTERNAL_SERVER_ERROR"
    return "BAD_REQUEST" if original is None or isinstance(original, GraphQLError) \
        else "INTERNAL_SERVER_ERROR"


def actual_cost(value, top: bool = True) -> int:
    """Points for what a query returned: 1 per object, 2 per connection (its ``pageInfo`` and
    ``edges`` wrappers are free), 0 for scalars."""
    if isinstance(value, list):
        return sum(actual_cost(v, False) for v in value)
    if not isinstance(value, dict):
        return 0
    keys = set(value)
    if {"pageInfo"} <= keys or "edges" in keys or "nodes" in keys and keys <= {"nodes",
                                                                              "pageInfo"}:
        inner = sum(actual_cost(v, False) for k, v in value.items() if k == "nodes")
        inner += sum(actual_cost(e.get("node"), False) for e in value.get("edges") or [])
        return 2 + inner
    own = 0 if top else 1
    return own + sum(actual_cost(v, False) for v in value.values())


class GraphQLEndpoint:
    """Answers GraphQL requests for one shop.

    Args:
        store: The shop data.
        bulk: The bulk operation registry.
        bucket: The shop's cost bucket.
        schema: The Admin schema.
        max_cost: Single-query cost limit.
        shop_domain: The shop's domain (``shop { myshopifyDomain }``).
    """

    def __init__(self, store: FakeStore, bulk, bucket: LeakyBucket, schema: GraphQLSchema,
                 max_cost: int = 1000, shop_domain: str = "sandbox.myshopify.com") -> None:
        self.store, self.bulk, self.bucket, self.schema = store, bulk, bucket, schema
        self.max_cost, self.shop_domain = max_cost, shop_domain
        self._documents: OrderedDict[str, tuple] = OrderedDict()
        self._views: dict = {}

    def _document(self, text: str) -> tuple:
        """``(document, errors)`` for a query text, cached."""
        hit = self._documents.get(text)
        if hit is not None:
            self._documents.move_to_end(text)
            return hit
        try:
            document = parse(text)
        except GraphQLError as exc:
            hit = (None, [shopify_error(exc, "parseError")])
        else:
            problems = validate(self.schema, document, _RULES)
            hit = (None if problems else document,
                   [shopify_error(p, _validation_code(p.message)) for p in problems])
        self._documents[text] = hit
        if len(self._documents) > 256:
            self._documents.popitem(last=False)
        return hit

    def _cost(self, requested: int, actual: int | None) -> dict:
        return {"requestedQueryCost": requested, "actualQueryCost": actual,
                "throttleStatus": self.bucket.status()}

    def handle(self, body: dict, base_url: str) -> dict:
        """Answer one request body ``{"query", "variables", "operationName"}``."""
        text = body.get("query")
        variables = body.get("variables") or {}
        if not isinstance(text, str) or not text.strip():
            return {"errors": [{"message": "Parameter Missing or Invalid",
                                "extensions": {"code": "BAD_REQUEST"}}],
                    "extensions": {"cost": self._cost(0, 0)}}
        document, errors = self._document(text)
        if errors:
            return {"errors": errors, "extensions": {"cost": self._cost(0, 0)}}
        op_name = body.get("operationName")
        ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        op = next((d for d in ops if op_name is None or (d.name and d.name.value == op_name)),
                  None)
        try:
            requested = estimate_cost(text, variables, self.schema) if op is not None else 0
        except ValueError as exc:
            return {"errors": [{"message": str(exc).replace("connection", "Connection field")
                                + ": you must provide one of first or last",
                                "extensions": {"code": "BAD_REQUEST"}}],
                    "extensions": {"cost": self._cost(0, 0)}}
        if requested > self.max_cost:
            return {"errors": [{
                "message": f"Query cost is {requested}, which exceeds the single query max cost "
                           f"limit ({self.max_cost}).\n\nSee https://shopify.dev/concepts/about-"
                           "apis/rate-limits for more information on how the\ncost of a query "
                           "is calculated.\n\nTo query larger amounts of data with fewer limits, "
                           "bulk operations should be used instead.",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested,
                               "maxCost": self.max_cost}}],
                "extensions": {"cost": self._cost(requested, None)}}
        if not self.bucket.try_take(requested):
            return {"errors": [{"message": "Throttled",
                                "extensions": {"code": "THROTTLED", "documentation":
                                               "https://shopify.dev/api/usage/rate-limits"}}],
                    "extensions": {"cost": self._cost(requested, None)}}
        ctx = FakeContext(self.store, self.bulk, base_url=base_url, views=self._views,
                          shop_domain=self.shop_domain)
        with self.store.lock:
            result = execute(self.schema, document, root_value=Root(), context_value=ctx,
                             variable_values=variables, operation_name=op_name)
        if op is not None and op.operation == OperationType.MUTATION:
            actual = requested if result.data else 0
        else:
            actual = min(requested, actual_cost(result.data)) if result.data else 0
        self.bucket.give_back(requested - actual)
        payload: dict = {}
        if result.errors:
            payload["errors"] = [shopify_error(e, _execution_code(e)) for e in result.errors]
        if result.data is not None:
            payload["data"] = result.data
        payload["extensions"] = {"cost": self._cost(requested, actual)}
        return payload

