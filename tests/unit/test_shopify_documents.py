"""Every GraphQL document restock sends validates against the real Admin 2026-07 schema."""
from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path

import pytest
from graphql import TypeInfo, TypeInfoVisitor, Visitor, get_named_type, parse, visit

from connector.adapters.shopify import queries
from connector.adapters.shopify.queries import BULK_DOCUMENTS, DOCUMENTS, REQUESTED_COST
from connector.adapters.shopify.schema import (
    admin_schema,
    default_schema_path,
    estimate_cost,
    validate_document,
)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "shopify"
GRAPHQL_START = re.compile(r"^\s*(query|mutation|subscription)\b\s*[_A-Za-z]?\w*\s*[({]")
TOPICS = ("orders/create", "orders/updated", "orders/cancelled", "refunds/create",
          "inventory_levels/update", "inventory_items/update", "products/update",
          "customers/create", "customers/update", "bulk_operations/finish", "app/uninstalled",
          "customers/data_request", "customers/redact", "shop/redact")


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_validates_without_deprecated_fields(name):
    assert validate_document(DOCUMENTS[name]) == []


@pytest.mark.parametrize("name", sorted(set(DOCUMENTS) - BULK_DOCUMENTS))
def test_requested_cost_matches_comment_and_stays_under_limit(name):
    cost = estimate_cost(DOCUMENTS[name])
    assert cost == REQUESTED_COST[name]
    assert cost < 1000


def test_every_paged_document_has_a_recorded_cost():
    assert set(REQUESTED_COST) == set(DOCUMENTS) - BULK_DOCUMENTS


def _connections(text):
    """(count, deepest nesting) of connection fields in a document."""
    info = TypeInfo(admin_schema())
    stack, found = [], []

    class Counter(Visitor):
        def enter_field(self, *_):
            named = get_named_type(info.get_type())
            is_conn = named is not None and named.name.endswith("Connection")
            stack.append(is_conn)
            if is_conn:
                found.append(sum(stack))

        def leave_field(self, *_):
            stack.pop()

    visit(parse(text), TypeInfoVisitor(info, Counter()))
    return len(found), max(found, default=0)


@pytest.mark.parametrize("name", sorted(BULK_DOCUMENTS))
def test_bulk_queries_respect_bulk_limits(name):
    count, deepest = _connections(DOCUMENTS[name])
    assert 1 <= count <= 5
    assert deepest <= 2


def _graphql_literals(source: str):
    """String literals in Python source that start like a GraphQL operation."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if GRAPHQL_START.match(node.value):
                yield node.lineno, node.value


def test_scanner_finds_operations_and_ignores_prose():
    source = ('X = """\nquery Foo($a: ID!) { node(id: $a) { id } }\n"""\n'
              'Y = """mutation { tagsAdd(id: "1", tags: []) { node { id } } }"""\n'
              'Z = "query the database for rows"\n'
              'W = """{\\"query\\": 1}"""\n')
    assert [line for line, _ in _graphql_literals(source)] == [1, 4]


def test_no_graphql_document_outside_documents():
    known = set(DOCUMENTS.values())
    stray = []
    for path in sorted((ROOT / "connector").rglob("*.py")):
        for line, text in _graphql_literals(path.read_text(encoding="utf-8")):
            if text not in known:
                stray.append(f"{path.relative_to(ROOT)}:{line}")
    assert not stray, f"GraphQL documents not collected in queries.DOCUMENTS: {stray}"


def test_every_module_constant_is_collected():
    constants = {name for name in queries.__all__
                 if isinstance(getattr(queries, name), str)}
    assert {getattr(queries, n) for n in constants} == set(DOCUMENTS.values())


@pytest.mark.parametrize("text, fragment", [
    ("query { customers(first: 1) { nodes { id email } } }", "Customer.email is deprecated"),
    ("query { customers(first: 1) { nodes { emailMarketingConsent { marketingState } } } }",
     "Customer.emailMarketingConsent is deprecated"),
    ("query { location(id: \"gid://shopify/Location/1\") { inventoryLevels(first: 1) "
     "{ nodes { available } } } }", "Cannot query field 'available'"),
    ("query { orders(first: 1) { nodes { totalPrice } } }", "Order.totalPrice is deprecated"),
    ("query { currentBulkOperation { id } }", "currentBulkOperation is deprecated"),
    ("query { customers(first: 1) { nodes { id emailAdress } } }",
     "Cannot query field 'emailAdress' on type 'Customer'"),
    ("query { products(first: 1) { nodes { id } }", "Syntax Error"),
])
def test_deprecated_and_wrong_fields_are_rejected(text, fragment):
    errors = validate_document(text)
    assert errors
    assert any(fragment in e for e in errors), errors


def test_schema_is_built_once_and_fixture_is_the_packaged_copy():
    assert admin_schema() is admin_schema()
    fixture = FIXTURES / "admin_2026-07.json.gz"
    assert fixture.read_bytes() == default_schema_path().read_bytes()
    assert admin_schema(fixture).query_type.name == "QueryRoot"


def test_fixture_files_match_sources_md():
    sources = (FIXTURES / "SOURCES.md").read_text()
    rows = dict(re.findall(r"^\| `([^`]+)` \|.*\| `([0-9a-f]{64})` \|$", sources, re.M))
    assert rows, "SOURCES.md lists no files"
    for path, digest in rows.items():
        assert hashlib.sha256((ROOT / path).read_bytes()).hexdigest() == digest, path
    for topic in TOPICS:
        stem = topic.replace("/", "_")
        for kind in ("schema", "example"):
            name = f"tests/fixtures/shopify/webhooks/{stem}.{kind}.json"
            assert name in rows
            json.loads((ROOT / name).read_text())
