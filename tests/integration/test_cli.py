"""The restock command: import Shopify exports, plan to CSV, clear errors for bad input."""
import csv
import shutil
from pathlib import Path

import pytest

from connector.cli import main

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "shopify_csv"


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    return tmp_path


def test_import_then_plan_writes_order_list(db, capsys):
    assert main(["import", "shopify-csv", "--orders", str(FIX / "orders_export.csv"),
                 "--inventory", str(FIX / "inventory_export.csv"),
                 "--suppliers", str(FIX / "suppliers.csv"), "--shop", "csv"]) == 0
    out = db / "plan"
    assert main(["plan", "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out / "order_list.csv")))
    required = {"sku", "list", "location", "on_hand", "on_order", "committed", "forecast_daily",
                "safety_stock", "reorder_point", "order_up_to", "recommended_qty", "supplier",
                "lead_time_days", "model"}
    assert required <= set(rows[0])
    skus = {r["sku"] for r in rows}
    with open(FIX / "orders_export.csv", encoding="utf-8-sig") as f:
        sold = {r["Lineitem sku"] for r in csv.DictReader(f) if r["Lineitem sku"]}
    assert sold <= skus
    po = list(csv.DictReader(open(out / "purchase_orders.csv")))
    ordered = {r["sku"]: int(r["recommended_qty"]) for r in rows if int(r["recommended_qty"])}
    per_po_sku = {}
    for r in po:
        per_po_sku[r["sku"]] = per_po_sku.get(r["sku"], 0) + int(r["quantity"])
    assert per_po_sku == {k: v for k, v in _sum_by_sku(rows).items() if v}
    assert set(ordered) == set(per_po_sku)


def _sum_by_sku(rows):
    out = {}
    for r in rows:
        out[r["sku"]] = out.get(r["sku"], 0) + int(r["recommended_qty"])
    return out


def test_bad_csv_names_file_line_column_and_imports_nothing(db, capsys, tmp_path):
    bad = tmp_path / "orders_export.csv"
    shutil.copy(FIX / "orders_export.csv", bad)
    text = bad.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    header = next(csv.reader([text[0]]))
    col = header.index("Lineitem quantity")
    row = next(csv.reader([text[1]]))
    row[col] = "abc"
    buf = []
    import io
    sio = io.StringIO()
    csv.writer(sio, lineterminator="\n").writerow(row)
    text[1] = sio.getvalue()
    bad.write_text("".join(text), encoding="utf-8")
    assert main(["import", "shopify-csv", "--orders", str(bad), "--shop", "x"]) == 2
    err = capsys.readouterr().err
    assert "orders_export.csv, line 2, column 'Lineitem quantity'" in err and "abc" in err
    assert main(["plan"]) == 2
    assert "no shop in the database yet" in capsys.readouterr().err


def test_unknown_shop_and_bad_cutoff(db, capsys):
    assert main(["import", "shopify-csv", "--orders", str(FIX / "orders_export.csv"),
                 "--shop", "a"]) == 0
    assert main(["plan", "--shop", "nope"]) == 2
    assert "unknown shop 'nope' (known shops: a)" in capsys.readouterr().err
    assert main(["plan", "--cutoff", "2026-13-01"]) == 2
    assert "--cutoff '2026-13-01' is not a date" in capsys.readouterr().err
