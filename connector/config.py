"""Settings from the environment, read only by the composition root (never on import)."""
from __future__ import annotations

import os
from dataclasses import dataclass

from core.storage import DEFAULT_URL

__all__ = ["Settings", "ConfigError"]


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message names the variable and how to set it."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_URL
    env: str = "production"  # production | demo | test
    secret_key: str | None = None
    forecast_engine: str = "local"  # local | dask://HOST:PORT
    shopify_api_key: str | None = None
    shopify_api_secret: str | None = None
    shopify_scopes: str = "read_products,read_inventory,read_orders,read_customers," \
        "write_customers,write_draft_orders,write_discounts,read_locations"
    shopify_app_url: str | None = None

    @classmethod
    def from_env(cls, environ=None, **overrides) -> "Settings":
        env = os.environ if environ is None else environ
        values = dict(database_url=env.get("DATABASE_URL") or DEFAULT_URL,
                      env=env.get("RESTOCK_ENV", "production"),
                      secret_key=env.get("RESTOCK_SECRET_KEY"),
                      forecast_engine=env.get("RESTOCK_FORECAST_ENGINE") or "local",
                      shopify_api_key=env.get("SHOPIFY_API_KEY"),
                      shopify_api_secret=env.get("SHOPIFY_API_SECRET"),
                      shopify_app_url=env.get("SHOPIFY_APP_URL"))
        if env.get("SHOPIFY_SCOPES"):
            values["shopify_scopes"] = env["SHOPIFY_SCOPES"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
