"""Storage: SQLAlchemy 2 tables (every row keyed by shop), engines and migrations."""
from .base import Base, utcnow
from .catalog import Location, Product, Shop, Supplier, SupplierItem, Variant
from .engine import (DEFAULT_URL, current_revision, head_revision, make_engine,
                     make_sessionmaker, session_scope, upgrade)
from .events import SyncState, WebhookEvent
from .forecast_memory import ForecastMemory, read_forecast_memory, write_forecast_memory
from .app import ApiKey, KpiSnapshot, User
from .customers import CustomerProductDue, CustomerScore
from .jobs import JobRun
from .integration import ExternalLink, OAuthState, PushRecord, ShopCredential
from .receiving import PODelivery, Receipt
from .planning import (PO_STATUSES, PlanLine, PlanRun, PurchaseOrder, PurchaseOrderLine,
                       Reminder)
from .sales import PII_COLUMNS, Campaign, Customer, InventorySnapshot, Order, OrderLine

__all__ = [
    "Base", "utcnow", "Shop", "Location", "Product", "Variant", "Supplier", "SupplierItem",
    "Customer", "Order", "OrderLine", "InventorySnapshot", "Campaign", "PlanRun", "PlanLine",
    "PurchaseOrder", "PurchaseOrderLine", "Reminder", "WebhookEvent", "SyncState", "PO_STATUSES",
    "ShopCredential", "OAuthState", "PushRecord", "ExternalLink", "PODelivery", "Receipt", "JobRun",
    "ApiKey", "KpiSnapshot", "User", "CustomerScore", "CustomerProductDue",
    "PII_COLUMNS", "DEFAULT_URL", "make_engine", "make_sessionmaker", "session_scope", "upgrade",
    "current_revision", "head_revision",
    "ForecastMemory", "read_forecast_memory", "write_forecast_memory",
]
