"""The real Shopify Admin GraphQL schema, document validation and a static cost estimate.

The schema is Shopify's own introspection JSON for Admin API 2026-07, as published in the npm
package ``@shopify/dev-mcp`` 1.16.0 (``dist/data/admin_2026-07.json.gz``; see
``tests/fixtures/shopify/SOURCES.md``). A copy ships inside this package, so validation needs
no network. graphql-core 3.2 builds it (3.3 rejects it, hence the ``<3.3`` pin).

:func:`validate_document` runs graphql-core's ``specified_rules`` plus
``NoDeprecatedCustomRule``, so a misspelt field and a deprecated one (``Customer.email``,
``InventoryLevel.available``, ...) are both errors.

:func:`estimate_cost` applies Shopify's published static cost rules so that page sizes can be
checked against the 1000-point single-query limit before a request is ever sent.
"""
from __future__ import annotations

import functools
import gzip
import json
from importlib import resources
from pathlib import Path
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    NoDeprecatedCustomRule,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    build_client_schema,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
    parse,
    specified_rules,
    validate,
    value_from_ast_untyped,
)

__all__ = [
    "ADMIN_API_VERSION",
    "MUTATION_COST",
    "admin_schema",
    "default_schema_path",
    "estimate_cost",
    "validate_document",
]

ADMIN_API_VERSION = "2026-07"
MUTATION_COST = 10
"""Shopify charges a flat 10 points per mutation field."""

_RULES = (*specified_rules, NoDeprecatedCustomRule)


def default_schema_path() -> Path:
    """Return the path of the packaged ``admin_2026-07.json.gz``."""
    ref = resources.files(__package__) / "data" / f"admin_{ADMIN_API_VERSION}.json.gz"
    return Path(str(ref))


@functools.lru_cache(maxsize=4)
def _load(path: str) -> GraphQLSchema:
    """Read a (gzipped) introspection JSON file and build the schema; cached per path."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        payload = json.load(fh)
    # Shopify's file wraps the introspection result as {"data": {"__schema": ...}, ...}.
    introspection = payload.get("data", payload)
    return build_client_schema(introspection, assume_valid=True)


def admin_schema(path: str | Path | None = None) -> GraphQLSchema:
    """Return the Admin API schema, built once per process and path.

    Args:
        path: An introspection JSON file (``.json`` or ``.json.gz``). Defaults to the copy
            packaged with restock (Admin API 2026-07).

    Returns:
        The built ``GraphQLSchema``.
    """
    resolved = Path(path) if path is not None else default_schema_path()
    return _load(str(resolved.resolve()))


def validate_document(text: str, schema: GraphQLSchema | None = None) -> list[str]:
    """Validate a GraphQL document against the Admin schema, deprecated fields included.

    Args:
        text: The GraphQL document.
        schema: Schema to validate against; defaults to :func:`admin_schema`.

    Returns:
        Error messages; an empty list means the document is valid.
    """
    try:
        document = parse(text)
    except GraphQLError as exc:
        return [exc.message]
    errors = validate(schema or admin_schema(), document, _RULES)
    return [error.message for error in errors]


def estimate_cost(text: str, variables: dict[str, Any] | None = None,
                  schema: GraphQLSchema | None = None) -> int:
    """Estimate Shopify's requested (worst-case) cost of a document, statically.

    Rules, from Shopify's "GraphQL Admin API rate limits" page and DESIGN.md:

    * scalar and enum fields cost 0; an object, interface or union field costs 1 plus the
      cost of its selection;
    * a connection field costs ``2 + n * node`` where ``n`` is ``first`` (or ``last``) and
      ``node`` is 1 plus the cost of the selection under ``nodes`` or ``edges { node }``;
      ``pageInfo`` and ``cursor`` are covered by the 2;
    * a list of objects costs ``n * element``; ``n`` is ``first`` when the field takes it,
      else the length of the longest literal list argument (``quantities(names: [...])``
      returns one object per name), else 1;
    * each mutation field costs a flat 10.

    Nested connections multiply. Variables take the value from ``variables`` or their
    default.

    Args:
        text: The GraphQL document (one operation).
        variables: Values for the operation's variables.
        schema: Schema to resolve types against; defaults to :func:`admin_schema`.

    Returns:
        The estimated requested cost in points.

    Raises:
        ValueError: A connection has no ``first``/``last``, or the document has no operation.
    """
    schema = schema or admin_schema()
    document = parse(text)
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if not ops:
        raise ValueError("document has no operation")
    op = ops[0]
    values = {v.variable.name.value: value_from_ast_untyped(v.default_value)
              for v in op.variable_definitions or () if v.default_value is not None}
    values.update(variables or {})
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    if op.operation == OperationType.MUTATION:
        return MUTATION_COST * len(_fields(op.selection_set, fragments))
    root = schema.get_root_type(op.operation)
    return _selection_cost(op.selection_set, root, schema, values, fragments)


def _fields(selection_set: SelectionSetNode | None, fragments: dict) -> list[FieldNode]:
    """Flatten a selection set into its field nodes (fragments inlined)."""
    out: list[FieldNode] = []
    for sel in selection_set.selections if selection_set else ():
        if isinstance(sel, FieldNode):
            out.append(sel)
        elif isinstance(sel, InlineFragmentNode):
            out.extend(_fields(sel.selection_set, fragments))
        elif isinstance(sel, FragmentSpreadNode):
            out.extend(_fields(fragments[sel.name.value].selection_set, fragments))
    return out


def _arg(field: FieldNode, name: str, values: dict) -> Any:
    """The value of argument ``name`` of ``field`` (variables resolved), or None."""
    for arg in field.arguments or ():
        if arg.name.value == name:
            return value_from_ast_untyped(arg.value, values)
    return None


def _lookup_type(parent: Any, name: str, schema: GraphQLSchema) -> Any:
    """Find the return type of field ``name`` on ``parent`` (interfaces and unions too)."""
    fields = getattr(parent, "fields", None)
    if fields and name in fields:
        return fields[name].type
    for possible in schema.get_possible_types(parent) if not isinstance(
            parent, GraphQLObjectType) else ():
        if name in possible.fields:
            return possible.fields[name].type
    raise ValueError(f"{parent.name} has no field {name!r}")


def _selection_cost(selection_set: SelectionSetNode | None, parent: Any,
                    schema: GraphQLSchema, values: dict, fragments: dict) -> int:
    """Sum the cost of every field selected on ``parent``."""
    total = 0
    for field in _fields(selection_set, fragments):
        name = field.name.value
        if name.startswith("__"):
            continue
        field_type = _lookup_type(parent, name, schema)
        named = get_named_type(field_type)
        if not is_composite_type(named):
            continue
        if named.name.endswith("Connection") and "pageInfo" in getattr(named, "fields", {}):
            total += _connection_cost(field, named, schema, values, fragments)
            continue
        element = 1 + _selection_cost(field.selection_set, named, schema, values, fragments)
        if is_list_type(get_nullable_type(field_type)):
            element *= _list_size(field, values)
        total += element
    return total


def _connection_cost(field: FieldNode, connection: Any, schema: GraphQLSchema,
                     values: dict, fragments: dict) -> int:
    """``2 + n * (1 + node selection)`` for a connection field."""
    size = _arg(field, "first", values) or _arg(field, "last", values)
    if not size:
        raise ValueError(f"connection {field.name.value!r} needs first or last to be costed")
    node_type = get_named_type(connection.fields["nodes"].type)
    node_cost = 0
    for sub in _fields(field.selection_set, fragments):
        if sub.name.value == "nodes":
            node_cost = max(node_cost, 1 + _selection_cost(
                sub.selection_set, node_type, schema, values, fragments))
        elif sub.name.value == "edges":
            for inner in _fields(sub.selection_set, fragments):
                if inner.name.value == "node":
                    node_cost = max(node_cost, 1 + _selection_cost(
                        inner.selection_set, node_type, schema, values, fragments))
    return 2 + int(size) * node_cost


def _list_size(field: FieldNode, values: dict) -> int:
    """How many elements a list-of-objects field may return (see :func:`estimate_cost`)."""
    first = _arg(field, "first", values)
    if first:
        return int(first)
    longest = 1
    for arg in field.arguments or ():
        if isinstance(arg.value, ListValueNode):
            longest = max(longest, len(arg.value.values))
    return longest
