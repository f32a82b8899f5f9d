"""GraphQL mutations and look-ups restock sends to push data back to Shopify (webhook
subscriptions, customer metafields and tags, Flow triggers, draft orders and discounts).

Collected with the sync queries in :data:`connector.adapters.shopify.queries.DOCUMENTS`, where
every document is validated against the Admin 2026-07 schema.
"""
from __future__ import annotations

__all__ = ["WEBHOOK_SUBSCRIPTION_CREATE", "METAFIELDS_SET", "TAGS_ADD", "FLOW_TRIGGER_RECEIVE", "DRAFT_ORDER_CREATE", "DRAFT_ORDER_INVOICE_SEND", "DISCOUNT_CODE_BASIC_CREATE", "DRAFT_ORDER_BY_TAG", "DISCOUNT_BY_CODE", "CUSTOMER_RESTOCK_QUERY"]


# ---------------------------------------------------------------------------- writes
# cost = 10 (mutation). 2026-07 takes the endpoint as `uri` (callbackUrl is deprecated).
WEBHOOK_SUBSCRIPTION_CREATE = """
mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
    webhookSubscription { id topic uri format }
    userErrors { field message }
  }
}
"""

# cost = 10 (mutation)
METAFIELDS_SET = """
mutation MetafieldsSet($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { id namespace key ownerType updatedAt }
    userErrors { field message code elementIndex }
  }
}
"""

# cost = 10 (mutation)
TAGS_ADD = """
mutation TagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) {
    node { id }
    userErrors { field message }
  }
}
"""

# ---------------------------------------------------------------------------- push-back
# cost = 10 (mutation). 2026-07: `body` is deprecated; `handle` + `payload` (JSON) instead.
FLOW_TRIGGER_RECEIVE = """
mutation FlowTriggerReceive($handle: String!, $payload: JSON!) {
  flowTriggerReceive(handle: $handle, payload: $payload) {
    userErrors { field message }
  }
}
"""

# cost = 10 (mutation). The customer goes in `purchasingEntity` (`customerId` is deprecated);
# pushback tags every draft with a deterministic tag so a retry can find it (DRAFT_ORDER_BY_TAG).
DRAFT_ORDER_CREATE = """
mutation DraftOrderCreate($input: DraftOrderInput!) {
  draftOrderCreate(input: $input) {
    draftOrder { id name invoiceUrl invoiceSentAt tags }
    userErrors { field message }
  }
}
"""

# cost = 10 (mutation)
DRAFT_ORDER_INVOICE_SEND = """
mutation DraftOrderInvoiceSend($id: ID!) {
  draftOrderInvoiceSend(id: $id) {
    draftOrder { id invoiceSentAt status }
    userErrors { field message }
  }
}
"""

# cost = 10 (mutation). Buyers are chosen with `context` (`customerSelection` is deprecated).
DISCOUNT_CODE_BASIC_CREATE = """
mutation DiscountCodeBasicCreate($discount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $discount) {
    codeDiscountNode { id }
    userErrors { field message code }
  }
}
"""

# Idempotency lookup of a draft order by its deterministic tag ("tag:'restock-r<id>'").
# cost = 2 + 1 x 1 = 3
DRAFT_ORDER_BY_TAG = """
query DraftOrderByTag($query: String!) {
  draftOrders(first: 1, query: $query) {
    nodes { id name invoiceUrl invoiceSentAt status tags }
  }
}
"""

# Idempotency lookup of a discount by its deterministic code.
# cost = codeDiscountNode 1
DISCOUNT_BY_CODE = """
query DiscountByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) { id }
}
"""

# Consent re-check at push time plus the restock metafields and tags.
# cost = customer 1 + defaultEmailAddress 1 + 3 metafields x 1 = 5
CUSTOMER_RESTOCK_QUERY = """
query CustomerRestock($id: ID!) {
  customer(id: $id) {
    id tags
    defaultEmailAddress { emailAddress marketingState }
    nextOrderDate: metafield(namespace: "restock", key: "next_order_date") { value type }
    predictedClv: metafield(namespace: "restock", key: "predicted_clv") { value type }
    segment: metafield(namespace: "restock", key: "segment") { value type }
  }
}
"""
