"""restock's JSON API under ``/api`` (flask-smorest), documented at ``/api/openapi.json``.

Call :func:`init_api` from the app factory. Every resource is the authenticated caller's
shop's (see :mod:`connector.api.auth`): a credential never reads another shop's rows, and an
id of another shop's row answers 404 as if it did not exist.

Routes (all ``GET`` unless noted; lists are paginated with ``?page=&page_size=`` and the
``X-Pagination`` header):

* ``/api/skus`` (``list``, ``to_order``, ``level``), ``/api/skus/{sku}``
* ``/api/plans``
* ``/api/order-lists/{staple|seasonal}`` (``to_order``, ``level``, ``format=json|csv|xlsx``)
* ``/api/purchase-orders`` (``status``), ``/api/purchase-orders/{id}``,
  ``POST /api/purchase-orders/{id}/approve``, ``POST /api/purchase-orders/{id}/cancel``
  (409 with the reason when the state machine refuses)
* ``/api/suppliers``
* ``/api/customers/segments``, ``/api/customers/{id}``
* ``/api/reminders`` (``status``, ``due_from``, ``due_to``)
* ``/api/kpis`` (``name``, ``dims_key``, ``from``, ``to``)
* ``/api/campaigns``

Bad input answers 422 with field-level messages (``{"errors": {"query": {field: [...]}}}``);
unknown ``/api/...`` paths answer JSON 404 (405 for a known path and another method). API
views are exempt from the web pages' CSRF check: they authenticate by bearer token, never by
cookie. No documentation UI is served (no scripts from a CDN).
"""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, request
from flask_smorest import Api, abort
from werkzeug.exceptions import HTTPException

from .auth import create_api_key, revoke_api_key
from .common import register_json_errors

__all__ = ["init_api", "RestockApi", "API_BLUEPRINTS", "create_api_key", "revoke_api_key"]

#: Names of the blueprints that serve ``/api`` resources (CSRF-exempt, JSON errors); the
#: OpenAPI document is served by flask-smorest's ``api-docs`` blueprint.
API_BLUEPRINTS = ("skus", "plans", "order-lists", "purchase-orders", "suppliers", "customers",
                  "reminders", "kpis", "campaigns", "api-fallback")
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]

_DESCRIPTION = (
    "Per-shop inventory planning data. Authenticate with `Authorization: Bearer <key>`: an "
    "API key (`restock api-key create`) or a Shopify session token of the embedded app. "
    "Lists are paginated with `page` and `page_size`; the `X-Pagination` header holds "
    "total, total_pages, page, previous_page and next_page.")


class RestockApi(Api):
    """flask-smorest's ``Api`` without its app-wide ``HTTPException`` handler: the API's
    blueprints answer their errors as JSON themselves, and the web pages keep their own
    HTML error pages."""

    def _register_error_handlers(self):
        return None


def _fallback_blueprint() -> Blueprint:
    """JSON 404/405 for ``/api`` paths no API route matches."""
    bp = Blueprint("api-fallback", __name__, url_prefix="/api")

    def unknown(rest: str = ""):
        """Answer 405 when another method of the path exists, else 404."""
        adapter = current_app.url_map.bind("localhost")
        allowed = set()
        for method in _METHODS:
            try:
                endpoint, _args = adapter.match(request.path, method=method)
            except HTTPException:
                continue
            if endpoint != "api-fallback.unknown":
                allowed.add(method)
        if allowed:
            abort(405, message=f"{request.method} is not allowed on {request.path}",
                  headers={"Allow": ", ".join(sorted(allowed | {"OPTIONS"}))})
        abort(404, message=f"no API resource at {request.path}: see /api/openapi.json")

    for rule in ("", "/", "/<path:rest>"):
        bp.add_url_rule(rule, endpoint="unknown", view_func=unknown, methods=_METHODS)
    register_json_errors(bp)
    return bp


def init_api(app: Flask) -> RestockApi:
    """Mount the API on ``app``.

    Sets ``API_TITLE``, ``API_VERSION``, ``OPENAPI_VERSION`` (3.0.3), ``OPENAPI_URL_PREFIX``
    (``/api``) and ``OPENAPI_JSON_PATH`` unless the app's config already has them, registers
    the resource blueprints, the bearer security scheme and the JSON fallback for unknown
    ``/api`` paths, and marks every API view CSRF-exempt.

    Returns:
        The ``Api`` (also in ``app.extensions["restock_api"]``); calling this again on the
        same app returns it unchanged.
    """
    if "restock_api" in app.extensions:
        return app.extensions["restock_api"]
    from .views_customers import campaigns_blp, customers_blp, kpis_blp, reminders_blp
    from .views_orders import orders_blp, suppliers_blp
    from .views_plan import lists_blp, plans_blp, skus_blp

    app.config.setdefault("API_TITLE", "restock")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": _DESCRIPTION},
        "security": [{"bearerAuth": []}],
    })
    api = RestockApi(app)
    api.spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer",
        "description": "An API key rk_<prefix>_<secret>, or a Shopify session token (JWT)"})
    for blp in (skus_blp, plans_blp, lists_blp, orders_blp, suppliers_blp, customers_blp,
                reminders_blp, kpis_blp, campaigns_blp):
        api.register_blueprint(blp)
    app.register_blueprint(_fallback_blueprint())
    for endpoint, view in app.view_functions.items():
        if endpoint.split(".", 1)[0] in API_BLUEPRINTS:
            view.csrf_exempt = True
    app.extensions["restock_api"] = api
    return api
