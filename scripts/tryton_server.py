"""A throw-away Tryton ERP server on 127.0.0.1, built from nothing but the installed packages.

Used by the Tryton adapter's integration tests and for trying the ERP sync by hand::

    .venv/bin/python scripts/tryton_server.py --seed     # prints URL, user and password

What :func:`running_tryton` does, in order:

1. Writes a trytond config in a temp dir (``[database] uri = sqlite://``, ``path`` = that dir,
   ``[web] listen = 127.0.0.1:<free port>``) and creates the empty SQLite file
   ``<dir>/<db>.sqlite`` (trytond-admin refuses to run without it).
2. ``trytond-admin -c CONF -d DB --all --email admin@example.test`` with the admin password
   in a 0600 temp file named by ``TRYTONPASSFILE`` (so nothing prompts), then
   ``trytond-admin -c CONF -d DB -u stock purchase stock_supply --activate-dependencies``
   (which brings product, party, company, currency, account and the rest they need).
3. Starts ``trytond -c CONF -d DB`` (without ``-d`` Tryton 8 fails every login) and polls
   ``common.server.version`` until it answers; yields ``(url, user, password)`` with
   ``url = http://127.0.0.1:PORT/DB``; terminates the server and removes the dir afterwards.

:func:`seed` then sets the database up over JSON-RPC, as a client would: currency, company
(set on the admin user), a second warehouse beside the default one, supplier parties,
products (template code + variant suffix = SKU), product-supplier records with lead times and
prices, stock (an inventory in one warehouse, done incoming moves in the other), and the
purchase invoice method ``manual`` (the throw-away database has no chart of accounts).
"""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import requests

__all__ = ["MODULES", "DEFAULT_SEED", "TrytonInstance", "TrytonStartError", "free_port",
           "create_database", "start_server", "running_tryton", "seed"]

MODULES = ("stock", "purchase", "stock_supply")
ADMIN_EMAIL = "admin@example.test"

#: The data :func:`seed` creates; tests compare what the adapter pulls with this.
DEFAULT_SEED: dict[str, Any] = {
    "currency": {"code": "USD", "name": "US Dollar", "symbol": "$"},
    "company": "Restock Test Roasters",
    # The default warehouse (code WH) exists in a fresh database; others are created.
    "warehouses": [{"code": "WH", "name": "Warehouse"}, {"code": "EAST", "name": "East Hub"}],
    "suppliers": [{"name": "Acme Beans", "email": "orders@acme-beans.test"},
                  {"name": "Kettle & Co", "email": None}],
    "products": [
        {"code": "COF", "name": "Coffee beans", "list_price": "12.50",
         "variants": [{"suffix": "-250", "cost_price": "5.00"},
                      {"suffix": "-1K", "cost_price": "16.00"}]},
        {"code": "TEA", "name": "Green tea", "list_price": "6.00",
         "variants": [{"suffix": "-100", "cost_price": "2.40"}]},
    ],
    "product_suppliers": [
        {"sku": "COF-250", "supplier": "Acme Beans", "lead_time_days": 7, "code": "AB-250",
         "price": "4.80"},
        {"sku": "COF-1K", "supplier": "Acme Beans", "lead_time_days": 10, "code": "AB-1000",
         "price": "15.20"},
        {"sku": "TEA-100", "supplier": "Kettle & Co", "lead_time_days": 21, "code": None,
         "price": None},
    ],
    # WH is stocked by an inventory, EAST by done incoming moves (no purchase behind them).
    "inventory": {"WH": {"COF-250": 40, "COF-1K": 12, "TEA-100": 0}},
    "incoming": {"EAST": {"COF-250": 7, "TEA-100": 30}},
}


class TrytonInstance(NamedTuple):
    """A running server: ``url`` is ``http://127.0.0.1:PORT/DB``."""

    url: str
    user: str
    password: str


class TrytonStartError(RuntimeError):
    """trytond-admin or trytond failed; the message carries the end of their log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _command(name: str) -> str:
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        raise TrytonStartError(f"{name} is not installed: pip install 'trytond>=8.2,<8.3' "
                               "trytond-stock trytond-purchase trytond-stock-supply")
    return found


def _env(passfile: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TRYTOND_") and k != "TRYTONPASSFILE"}
    if passfile is not None:
        env["TRYTONPASSFILE"] = str(passfile)
    return env


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _write_config(workdir: Path, port: int | None) -> Path:
    conf = workdir / "trytond.conf"
    text = f"[database]\nuri = sqlite://\npath = {workdir}\nlanguage = en\n"
    if port is not None:
        text += f"\n[web]\nlisten = 127.0.0.1:{port}\n"
    conf.write_text(text)
    return conf


def create_database(workdir: Path, db_name: str, password: str,
                    modules: tuple[str, ...] = MODULES) -> Path:
    """Create ``<workdir>/<db_name>.sqlite`` with ``modules`` activated; return the config path.

    Raises:
        TrytonStartError: trytond-admin failed (the message holds its last log lines).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    conf = _write_config(workdir, None)
    (workdir / f"{db_name}.sqlite").touch()
    passfile = workdir / "admin.pass"
    passfile.write_text(password + "\n")
    passfile.chmod(0o600)
    admin, log = _command("trytond-admin"), workdir / "admin.log"
    steps = [["--all", "--email", ADMIN_EMAIL],
             ["-u", *modules, "--activate-dependencies"]]
    try:
        for extra in steps:
            with open(log, "a") as out:
                done = subprocess.run([admin, "-c", str(conf), "-d", db_name, *extra],
                                      env=_env(passfile), stdin=subprocess.DEVNULL,
                                      stdout=out, stderr=subprocess.STDOUT, timeout=900)
            if done.returncode:
                raise TrytonStartError(f"trytond-admin {' '.join(extra)} exited "
                                       f"{done.returncode}:\n{_tail(log)}")
    finally:
        passfile.unlink(missing_ok=True)
    return conf


def _answers(port: int) -> bool:
    try:
        r = requests.post(f"http://127.0.0.1:{port}/rpc/", timeout=2,
                          json={"id": 0, "method": "common.server.version", "params": []})
        return r.status_code == 200
    except requests.RequestException:
        return False


def start_server(workdir: Path, db_name: str, port: int | None = None,
                 timeout: float = 120.0) -> tuple[subprocess.Popen, int]:
    """Start ``trytond -c CONF -d DB`` on 127.0.0.1 and wait until it answers.

    Returns:
        The process and its port.

    Raises:
        TrytonStartError: the server exited or did not answer within ``timeout`` seconds.
    """
    for attempt in range(3):
        chosen = port or free_port()
        conf = _write_config(workdir, chosen)
        log = workdir / "trytond.log"
        with open(log, "a") as out:
            proc = subprocess.Popen([_command("trytond"), "-c", str(conf), "-d", db_name],
                                    env=_env(), stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if _answers(chosen):
                return proc, chosen
            time.sleep(0.1)
        stop_server(proc)
        if port is None and "Address already in use" in _tail(log) and attempt < 2:
            continue  # another process took the free port first: pick a new one
        break
    raise TrytonStartError(f"trytond did not answer on 127.0.0.1:{chosen} "
                           f"(exit code {proc.returncode}):\n{_tail(log)}")


def stop_server(proc: subprocess.Popen) -> None:
    """Terminate ``proc`` (kill it after 10 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@contextmanager
def running_tryton(db_name: str = "restock", modules: tuple[str, ...] = MODULES,
                   workdir: Path | None = None, port: int | None = None,
                   keep: bool = False) -> Iterator[TrytonInstance]:
    """Create a throw-away database, run trytond on it, yield ``(url, user, password)``.

    Args:
        db_name: The database name (the SQLite file is ``<db_name>.sqlite``).
        modules: Tryton modules to activate (dependencies come along).
        workdir: Folder for config, database and logs (a new temp dir by default).
        port: Port to listen on (a free one by default).
        keep: Keep the folder afterwards (for looking at the logs).
    """
    own = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="restock-tryton-")) if own else Path(workdir)
    password = secrets.token_urlsafe(18)
    proc = None
    try:
        create_database(workdir, db_name, password, modules)
        proc, port = start_server(workdir, db_name, port)
        yield TrytonInstance(f"http://127.0.0.1:{port}/{db_name}", "admin", password)
    finally:
        if proc is not None:
            stop_server(proc)
        if own and not keep:
            shutil.rmtree(workdir, ignore_errors=True)


# -- seeding over JSON-RPC -------------------------------------------------------------------

def _one(client, model: str, domain: list) -> int:
    ids = client.search(model, domain, limit=1)
    if not ids:
        raise LookupError(f"no {model} matches {domain}")
    return ids[0]


def _warehouse(client, spec: dict, lost_found: int) -> int:
    found = client.search("stock.location", [["type", "=", "warehouse"],
                                             ["code", "=", spec["code"]]], limit=1)
    if found:
        return found[0]
    # Over raw RPC nothing fills what the client's on-change would: create the zones too.
    zones = client.create("stock.location", [
        {"name": f"{spec['name']} {zone}", "type": "storage"}
        for zone in ("Input", "Output", "Storage")])
    wh, = client.create("stock.location", [{
        "name": spec["name"], "code": spec["code"], "type": "warehouse",
        "input_location": zones[0], "output_location": zones[1], "storage_location": zones[2],
        "lost_found_location": lost_found}])
    client.write("stock.location", zones, {"parent": wh})
    return wh


def seed(client, spec: dict | None = None) -> dict[str, Any]:
    """Fill a fresh database over JSON-RPC; return the ids of what was created.

    Args:
        client: A :class:`connector.adapters.tryton.client.TrytonClient` logged in as admin.
        spec: What to create (default :data:`DEFAULT_SEED`).

    Returns:
        ``{"company", "currency", "unit", "warehouses": {code: id}, "storage": {code: id},
        "suppliers": {name: party id}, "products": {sku: product id},
        "product_suppliers": {(sku, supplier name): id}}``.
    """
    spec = copy.deepcopy(spec or DEFAULT_SEED)
    c = spec["currency"]
    currency, = client.create("currency.currency", [{
        "name": c["name"], "code": c["code"], "symbol": c["symbol"], "digits": 2,
        "rounding": Decimal("0.01")}])
    party, = client.create("party.party", [{
        "name": spec["company"], "addresses": [["create", [{"street": "1 Main Street"}]]]}])
    company, = client.create("company.company", [{"party": party, "currency": currency}])
    client.write("res.user", [client.user_id], {"companies": [["add", [company]]],
                                                "company": company})
    client.refresh_context()
    client.write("purchase.configuration", [1], {"purchase_invoice_method": "manual"})
    unit = _one(client, "product.uom", [["symbol", "=", "u"]])
    lost_found = _one(client, "stock.location", [["type", "=", "lost_found"]])
    supplier_loc = _one(client, "stock.location", [["type", "=", "supplier"]])

    warehouses = {w["code"]: _warehouse(client, w, lost_found) for w in spec["warehouses"]}
    storage = {code: client.read("stock.location", [wid], ["storage_location"])[0]
               ["storage_location"] for code, wid in warehouses.items()}
    suppliers = {}
    for s in spec["suppliers"]:
        values = {"name": s["name"], "addresses": [["create", [{"city": "Supplier City"}]]]}
        if s.get("email"):
            values["contact_mechanisms"] = [["create", [{"type": "email",
                                                         "value": s["email"]}]]]
        suppliers[s["name"]], = client.create("party.party", [values])

    products, templates = {}, {}
    for p in spec["products"]:
        templates[p["code"]], = client.create("product.template", [{
            "name": p["name"], "code": p["code"], "type": "goods", "default_uom": unit,
            "purchasable": True, "purchase_uom": unit, "list_price": Decimal(p["list_price"]),
            "cost_price_method": "fixed",
            "products": [["create", [{"suffix_code": v["suffix"],
                                      "cost_price": Decimal(v["cost_price"])}
                                     for v in p["variants"]]]]}])
        for row in client.search_read("product.product",
                                      [["template", "=", templates[p["code"]]]], ["code"]):
            products[row["code"]] = row["id"]

    product_suppliers = {}
    for ps in spec["product_suppliers"]:
        values = {"template": client.read("product.product", [products[ps["sku"]]],
                                          ["template"])[0]["template"],
                  "product": products[ps["sku"]], "party": suppliers[ps["supplier"]],
                  "lead_time": dt.timedelta(days=ps["lead_time_days"]), "code": ps["code"],
                  "currency": currency, "company": company}
        if ps.get("price") is not None:
            values["prices"] = [["create", [{"quantity": 0.0,
                                             "unit_price": Decimal(ps["price"])}]]]
        product_suppliers[(ps["sku"], ps["supplier"])], = client.create(
            "purchase.product_supplier", [values])

    today = dt.date.today()
    for code, quantities in spec.get("inventory", {}).items():
        inventory, = client.create("stock.inventory", [{
            "location": storage[code], "date": today,
            "lines": [["create", [{"product": products[sku], "quantity": float(q)}
                                  for sku, q in quantities.items()]]]}])
        client.execute_confirming("stock.inventory", "confirm", [inventory])
    for code, quantities in spec.get("incoming", {}).items():
        moves = client.create("stock.move", [{
            "product": products[sku], "quantity": float(q), "unit": unit,
            "from_location": supplier_loc, "to_location": storage[code],
            "unit_price": Decimal("1.00"), "currency": currency, "company": company,
            "effective_date": today} for sku, q in quantities.items()])
        client.execute_confirming("stock.move", "do", moves)
    return {"company": company, "currency": currency, "unit": unit, "warehouses": warehouses,
            "storage": storage, "suppliers": suppliers, "products": products,
            "product_suppliers": product_suppliers}


def main(argv: list[str] | None = None) -> int:
    """Run a throw-away server until Ctrl+C; print how to reach it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="restock", help="database name")
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--seed", action="store_true", help="fill it with the demo seed")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with running_tryton(args.db, port=args.port) as (url, user, password):
        print(f"tryton ready in {time.perf_counter() - started:.1f} s: {url} "
              f"user {user} password {password}", flush=True)
        if args.seed:
            from connector.adapters.tryton.client import TrytonClient

            seed(TrytonClient(url, user, password))
            print("seeded", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
