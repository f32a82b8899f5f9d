"""Every GraphQL document restock sends to the Shopify Admin API (version 2026-07).

Each document is a module-level constant and is collected in :data:`DOCUMENTS`; the tests
validate every one against the real 2026-07 schema with ``NoDeprecatedCustomRule`` and fail if
a GraphQL string anywhere under ``connector/`` is not collected here.

Page sizes are literals chosen so the requested cost of every paged query stays under
Shopify's 1000-point single-query limit. Costs follow Shopify's static rules (scalars and
enums 0, objects 1, connections ``2 + first x node``, nested connections multiply, mutations
10); the comment above each document shows the arithmetic and :data:`REQUESTED_COST` holds
the result, which the tests recompute with
:func:`connector.adapters.shopify.schema.estimate_cost`. Only ``shopMoney`` is read from
money bags (the shop currency), which halves their cost.

Incremental syncs pass ``$query`` as ``"updated_at:>'<bookmark minus overlap>'"`` with
``sortKey: UPDATED_AT``; backfills run the ``BULK_*`` documents through
:data:`BULK_OPERATION_RUN_QUERY` (no page sizes there: bulk operations page internally, allow
at most 5 connections nested at most 2 deep, and are not subject to the 1000-point limit).

``currentBulkOperation`` is deprecated in 2026-07 ("Use ``bulkOperations`` with status filter
instead"), so :data:`RUNNING_BULK_OPERATIONS_QUERY` polls ``bulkOperations`` with a
``status:running`` filter, and :data:`BULK_OPERATION_QUERY` polls one operation by id.
"""
from __future__ import annotations

__all__ = [
    "BULK_CUSTOMERS", "BULK_DOCUMENTS", "BULK_INVENTORY_LEVELS", "BULK_OPERATION_QUERY",
    "BULK_OPERATION_RUN_QUERY", "BULK_ORDERS", "BULK_PRODUCTS", "CUSTOMERS_QUERY", "DOCUMENTS",
    "INVENTORY_LEVELS_QUERY", "INVENTORY_QUANTITY_NAMES", "LOCATIONS_QUERY", "METAFIELDS_SET",
    "ORDERS_QUERY", "ORDER_LINE_ITEMS_QUERY", "ORDER_REFUNDS_QUERY", "PRODUCTS_QUERY",
    "PRODUCT_VARIANTS_QUERY", "REQUESTED_COST", "RUNNING_BULK_OPERATIONS_QUERY", "TAGS_ADD",
    "WEBHOOK_SUBSCRIPTION_CREATE", "FLOW_TRIGGER_RECEIVE", "DRAFT_ORDER_CREATE",
    "DRAFT_ORDER_INVOICE_SEND", "DISCOUNT_CODE_BASIC_CREATE", "DRAFT_ORDER_BY_TAG",
    "DISCOUNT_BY_CODE", "CUSTOMER_RESTOCK_QUERY",
]

INVENTORY_QUANTITY_NAMES = ("available", "on_hand", "incoming", "committed", "reserved")

# ---------------------------------------------------------------------------- catalogue
# variant = 1 + inventoryItem 1 + unitCost 1 = 3
# product = 1 + variants (2 + 25 x 3 = 77) = 78
# cost    = 2 + 10 x 78 = 782
PRODUCTS_QUERY = """
query ProductsPage($after: String, $query: String) {
  products(first: 10, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes {
      id title status createdAt updatedAt
      variants(first: 25) {
        nodes {
          id sku barcode title price
          inventoryItem { id tracked unitCost { amount } }
        }
        pageInfo { hasNextPage endCursor }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

# Follow-up for a product with more than 25 variants.
# cost = product 1 + variants (2 + 100 x 3) = 303
PRODUCT_VARIANTS_QUERY = """
query ProductVariantsPage($productId: ID!, $after: String) {
  product(id: $productId) {
    id
    variants(first: 100, after: $after) {
      nodes {
        id sku barcode title price
        inventoryItem { id tracked unitCost { amount } }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

# ---------------------------------------------------------------------------- inventory
# cost = 2 + 250 x 1 = 252
LOCATIONS_QUERY = """
query LocationsPage($after: String) {
  locations(first: 250, after: $after, includeInactive: true) {
    nodes { id name isActive fulfillsOnlineOrders }
    pageInfo { hasNextPage endCursor }
  }
}
"""

# level = 1 + item 1 + quantities (5 names x 1) = 7
# cost  = location 1 + inventoryLevels (2 + 100 x 7 = 702) = 703
INVENTORY_LEVELS_QUERY = """
query InventoryLevelsPage($locationId: ID!, $after: String, $query: String) {
  location(id: $locationId) {
    id
    inventoryLevels(first: 100, after: $after, query: $query) {
      nodes {
        id updatedAt
        item { id sku tracked }
        quantities(names: ["available", "on_hand", "incoming", "committed", "reserved"]) {
          name
          quantity
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

# ---------------------------------------------------------------------------- customers
# customer = 1 + amountSpent 1 + defaultEmailAddress 1 + defaultPhoneNumber 1 = 4
# cost     = 2 + 200 x 4 = 802
CUSTOMERS_QUERY = """
query CustomersPage($after: String, $query: String) {
  customers(first: 200, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes {
      id firstName lastName createdAt updatedAt numberOfOrders
      amountSpent { amount currencyCode }
      defaultEmailAddress { emailAddress marketingState }
      defaultPhoneNumber { phoneNumber }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

# ---------------------------------------------------------------------------- orders
# lineItem     = 1 + originalUnitPriceSet 2 + variant 1 + totalDiscountSet 2 = 6
# refund       = 1 + refundLineItems (2 + 10 x (1 + lineItem 1) = 22) = 23
# order        = 1 + customer 1 + retailLocation 1 + totalPriceSet 2 + subtotalPriceSet 2
#                + lineItems (2 + 10 x 6 = 62) + refunds (2 x 23 = 46) = 115
# cost         = 2 + 8 x 115 = 922
ORDERS_QUERY = """
query OrdersPage($after: String, $query: String) {
  orders(first: 8, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes {
      id name test createdAt processedAt cancelledAt updatedAt sourceName
      retailLocation { id } customer { id } currencyCode
      totalPriceSet { shopMoney { amount currencyCode } }
      subtotalPriceSet { shopMoney { amount currencyCode } }
      discountCodes tags
      lineItems(first: 10) {
        nodes {
          id sku quantity
          originalUnitPriceSet { shopMoney { amount currencyCode } }
          variant { id }
          totalDiscountSet { shopMoney { amount currencyCode } }
        }
        pageInfo { hasNextPage endCursor }
      }
      refunds(first: 2) {
        id createdAt
        refundLineItems(first: 10) {
          nodes { quantity lineItem { id } }
          pageInfo { hasNextPage }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

# Follow-up for an order with more than 10 line items.
# cost = order 1 + lineItems (2 + 100 x 6) = 603
ORDER_LINE_ITEMS_QUERY = """
query OrderLineItemsPage($orderId: ID!, $after: String) {
  order(id: $orderId) {
    id
    lineItems(first: 100, after: $after) {
      nodes {
        id sku quantity
        originalUnitPriceSet { shopMoney { amount currencyCode } }
        variant { id }
        totalDiscountSet { shopMoney { amount currencyCode } }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

# Follow-up for an order with more than 2 refunds or a refund with more than 10 lines.
# refund = 1 + refundLineItems (2 + 40 x 2 = 82) = 83
# cost   = order 1 + refunds (10 x 83 = 830) = 831
ORDER_REFUNDS_QUERY = """
query OrderRefunds($orderId: ID!) {
  order(id: $orderId) {
    id
    refunds(first: 10) {
      id createdAt
      refundLineItems(first: 40) {
        nodes { quantity lineItem { id } }
        pageInfo { hasNextPage }
      }
    }
  }
}
"""

# ---------------------------------------------------------------------------- bulk operations
# cost = 10 (mutation). groupObjects defaults to false (an ungrouped file has no line order);
# grouped, every child line comes directly below its parent, which the streamed bulk load
# (.bulk.grouped_batches) relies on to read a file of any size in bounded memory.
BULK_OPERATION_RUN_QUERY = """
mutation BulkOperationRunQuery($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: true) {
    bulkOperation { id status createdAt }
    userErrors { field message code }
  }
}
"""

# cost = bulkOperation 1
BULK_OPERATION_QUERY = """
query BulkOperationStatus($id: ID!) {
  bulkOperation(id: $id) {
    id status errorCode createdAt completedAt
    objectCount rootObjectCount fileSize url partialDataUrl
  }
}
"""

# Replaces the deprecated currentBulkOperation; newest first by default.
# cost = 2 + 5 x 1 = 7
RUNNING_BULK_OPERATIONS_QUERY = """
query RunningBulkOperations($filter: String = "status:running operation_type:query") {
  bulkOperations(first: 5, query: $filter) {
    nodes { id status errorCode createdAt completedAt objectCount url partialDataUrl }
  }
}
"""

# Bulk backfill bodies (sent as the $query string of BULK_OPERATION_RUN_QUERY).
# 2 connections, depth 2.
BULK_PRODUCTS = """
query {
  products {
    edges {
      node {
        id title status createdAt updatedAt
        variants {
          edges {
            node {
              id sku barcode title price
              inventoryItem { id tracked unitCost { amount } }
            }
          }
        }
      }
    }
  }
}
"""

# 1 connection.
BULK_CUSTOMERS = """
query {
  customers {
    edges {
      node {
        id firstName lastName createdAt updatedAt numberOfOrders
        amountSpent { amount currencyCode }
        defaultEmailAddress { emailAddress marketingState }
        defaultPhoneNumber { phoneNumber }
      }
    }
  }
}
"""

# 2 connections, depth 2. Bulk queries reject a connection inside a list field, so refund
# lines are not here: currentQuantity (quantity net of removals and refunds) is, and orders
# with refunds are re-read through ORDER_REFUNDS_QUERY.
BULK_ORDERS = """
query {
  orders {
    edges {
      node {
        id name test createdAt processedAt cancelledAt updatedAt sourceName
        retailLocation { id } customer { id } currencyCode
        totalPriceSet { shopMoney { amount currencyCode } }
        subtotalPriceSet { shopMoney { amount currencyCode } }
        discountCodes tags
        refunds { id createdAt }
        lineItems {
          edges {
            node {
              id sku quantity currentQuantity
              originalUnitPriceSet { shopMoney { amount currencyCode } }
              variant { id }
              totalDiscountSet { shopMoney { amount currencyCode } }
            }
          }
        }
      }
    }
  }
}
"""

# 2 connections, depth 2.
BULK_INVENTORY_LEVELS = """
query {
  locations(includeInactive: true) {
    edges {
      node {
        id name isActive
        inventoryLevels {
          edges {
            node {
              id updatedAt
              item { id sku tracked }
              quantities(names: ["available", "on_hand", "incoming", "committed", "reserved"]) {
                name
                quantity
              }
            }
          }
        }
      }
    }
  }
}
"""

# the push-back documents live in their own module; re-exported here for DOCUMENTS
from .queries_push import (CUSTOMER_RESTOCK_QUERY, DISCOUNT_BY_CODE,  # noqa: E402
                           DISCOUNT_CODE_BASIC_CREATE, DRAFT_ORDER_BY_TAG, DRAFT_ORDER_CREATE,
                           DRAFT_ORDER_INVOICE_SEND, FLOW_TRIGGER_RECEIVE, METAFIELDS_SET,
                           TAGS_ADD, WEBHOOK_SUBSCRIPTION_CREATE)

DOCUMENTS: dict[str, str] = {
    "products": PRODUCTS_QUERY,
    "product_variants": PRODUCT_VARIANTS_QUERY,
    "locations": LOCATIONS_QUERY,
    "inventory_levels": INVENTORY_LEVELS_QUERY,
    "customers": CUSTOMERS_QUERY,
    "orders": ORDERS_QUERY,
    "order_line_items": ORDER_LINE_ITEMS_QUERY,
    "order_refunds": ORDER_REFUNDS_QUERY,
    "bulk_operation_run_query": BULK_OPERATION_RUN_QUERY,
    "bulk_operation": BULK_OPERATION_QUERY,
    "running_bulk_operations": RUNNING_BULK_OPERATIONS_QUERY,
    "bulk_products": BULK_PRODUCTS,
    "bulk_customers": BULK_CUSTOMERS,
    "bulk_orders": BULK_ORDERS,
    "bulk_inventory_levels": BULK_INVENTORY_LEVELS,
    "webhook_subscription_create": WEBHOOK_SUBSCRIPTION_CREATE,
    "metafields_set": METAFIELDS_SET,
    "tags_add": TAGS_ADD,
    "flow_trigger_receive": FLOW_TRIGGER_RECEIVE,
    "draft_order_create": DRAFT_ORDER_CREATE,
    "draft_order_invoice_send": DRAFT_ORDER_INVOICE_SEND,
    "discount_code_basic_create": DISCOUNT_CODE_BASIC_CREATE,
    "draft_order_by_tag": DRAFT_ORDER_BY_TAG,
    "discount_by_code": DISCOUNT_BY_CODE,
    "customer_restock": CUSTOMER_RESTOCK_QUERY,
}
"""Every document restock sends, by name."""

BULK_DOCUMENTS = frozenset({"bulk_products", "bulk_customers", "bulk_orders",
                            "bulk_inventory_levels"})
"""Bodies of bulk queries: unpaged, not subject to the single-query cost limit."""

REQUESTED_COST: dict[str, int] = {
    "products": 782,
    "product_variants": 303,
    "locations": 252,
    "inventory_levels": 703,
    "customers": 802,
    "orders": 922,
    "order_line_items": 603,
    "order_refunds": 831,
    "bulk_operation_run_query": 10,
    "bulk_operation": 1,
    "running_bulk_operations": 7,
    "webhook_subscription_create": 10,
    "metafields_set": 10,
    "tags_add": 10,
    "flow_trigger_receive": 10,
    "draft_order_create": 10,
    "draft_order_invoice_send": 10,
    "discount_code_basic_create": 10,
    "draft_order_by_tag": 3,
    "discount_by_code": 1,
    "customer_restock": 5,
}
"""Requested cost of every non-bulk document, as computed in the comments above."""
