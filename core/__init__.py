"""restock's engine: storage, demand, forecasts, policy and plans.

Nothing here imports Flask, HTTP clients, Shopify libraries, ``connector`` or ``webhooks``.
"""
