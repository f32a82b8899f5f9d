"""Shopify CSV exports -> ShopRecords: fixtures, order-row grouping and bad input."""
from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from connector.adapters.csv_errors import CsvImportError
from connector.adapters.shopify_csv import ImportReport, read_exports
from core.records import COLUMNS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shopify_csv"
ORDERS = FIXTURES / "orders_export.csv"
INVENTORY = FIXTURES / "inventory_export.csv"
SUPPLIERS = FIXTURES / "suppliers.csv"
DAY = "2026-03-21"

ORDER_HEADER = "Name,Email,Accepts Marketing,Created at,Lineitem quantity,Lineitem name,"\
               "Lineitem price,Lineitem sku,Cancelled at,Source,Location,Id"
INVENTORY_HEADER = "Handle,Title,Option1 Name,Option1 Value,SKU,Location,Committed,Available,"\
                   "On hand"
SUPPLIER_HEADER = "sku,supplier,lead_time_days,lead_time_std_days,moq,case_pack,unit_cost"


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def orders_csv(tmp_path: Path, *rows: str, header: str = ORDER_HEADER) -> Path:
    return write(tmp_path, "orders_export.csv", "\n".join([header, *rows]) + "\n")


GOOD_ROWS = (
    "#1001,a@example.com,yes,2026-03-14 10:22:05 -0400,2,Tee - M,25.00,TEE-M,,web,,11",
    ",,,,,,,,,,,",  # blank row (Excel leaves these): skipped, still counted in line numbers
    "#1001,,,,1,Mug,14.00,MUG,,,,",
    "#1002,,,2026-03-15T09:00:00Z,1,Mug,15.00,MUG,,pos,Main Street Store,12",
)


@pytest.fixture(scope="module")
def full():
    report = ImportReport()
    records = read_exports(ORDERS, INVENTORY, SUPPLIERS, snapshot_date=DAY, report=report,
                           location_names={"Online": "Main Warehouse"})
    return records, report


def by_id(frame: pd.DataFrame, key: str = "external_id") -> dict:
    return {row[key]: row for row in frame.to_dict("records")}


# --- the fixtures -------------------------------------------------------------------------

def test_fixture_frames_have_exactly_the_record_columns(full):
    records, _ = full
    for name in records.entities():
        assert list(getattr(records, name).columns) == COLUMNS[name]


def test_fixture_orders(full):
    orders = by_id(full[0].orders)
    assert len(orders) == 8
    assert [o["name"] for o in orders.values()] == [f"#{n}" for n in range(1008, 1000, -1)]
    first = orders["5512000000001"]
    assert first["created_at"] == pd.Timestamp("2026-02-27 15:22:05", tz="UTC")
    assert first["discount_codes"] == "WELCOME10" and first["total"] == 75.96
    assert first["customer_external_id"] == "email:jane@example.com"
    cancelled = [o["name"] for o in orders.values() if pd.notna(o["cancelled_at"])]
    assert cancelled == ["#1004"]
    assert orders["5512000000004"]["cancelled_at"] == pd.Timestamp("2026-03-10 13:01:15",
                                                                   tz="UTC")
    guests = sorted(o["name"] for o in orders.values() if o["customer_external_id"] is None)
    assert guests == ["#1002", "#1008"]
    assert orders["5512000000006"]["source"] == "shopify_draft_order"
    # the Source column's channel (core.channels): web -> Online Store, draft orders, POS
    assert {o["name"]: o["channel"] for o in orders.values()} == {
        "#1008": "pos", "#1007": "online_store", "#1006": "draft_order",
        "#1005": "online_store", "#1004": "online_store", "#1003": "pos",
        "#1002": "online_store", "#1001": "online_store"}
    assert orders["5512000000006"]["tags"] == "wholesale, vip"
    assert str(full[0].orders["created_at"].dtype) == "datetime64[ns, UTC]"


def test_fixture_lines(full):
    records, report = full
    lines = by_id(records.order_lines)
    assert len(lines) == 12
    assert sorted(k for k in lines if k.startswith("5512000000001:")) == [
        "5512000000001:1", "5512000000001:2", "5512000000001:3"]
    # The custom item without SKU (line 5, after the two-line note of #1007) is skipped; the
    # tee keeps its position 2 within order #1006.
    assert report.lines_without_sku == [5]
    assert "5512000000006:1" not in lines
    assert lines["5512000000006:2"]["quantity"] == 4
    assert lines["5512000000005:2"]["discount"] == 1.9
    assert set(records.order_lines["refunded_quantity"]) == {0}
    sold = records.order_lines.groupby("sku")["quantity"].sum().to_dict()
    assert sold == {"MUG-WHT": 4, "SOCK-GRY": 6, "TEE-BLK-L": 4, "TEE-BLK-M": 4,
                    "TEE-WHT-M": 1, "TOTE-CNV": 1}


def test_fixture_customers_and_consent(full):
    customers = by_id(full[0].customers)
    assert set(customers) == {"email:jane@example.com", "email:bob@example.com",
                              "email:carol@example.com", "email:dan@example.com"}
    consent = {k: v["accepts_marketing"] for k, v in customers.items()}
    assert consent == {"email:jane@example.com": True, "email:bob@example.com": False,
                       "email:carol@example.com": True, "email:dan@example.com": False}
    jane = customers["email:jane@example.com"]  # "Jane@Example.com " on her second order
    assert jane["created_at"] == pd.Timestamp("2026-02-27 15:22:05", tz="UTC")
    assert (jane["first_name"], jane["last_name"], jane["phone"]) == ("Jane", "Doe",
                                                                      "+15185550188")
    carol = customers["email:carol@example.com"]  # latest order wins for name and phone
    assert (carol["first_name"], carol["last_name"]) == ("Carol", "Ann Reyes")
    assert carol["created_at"] == pd.Timestamp("2026-03-09 23:44:02", tz="UTC")


def test_fixture_locations(full):
    records, _ = full
    assert by_id(records.locations) == {
        "loc:Main Street Store": {"external_id": "loc:Main Street Store",
                                  "name": "Main Street Store", "kind": "store"},
        "loc:Main Warehouse": {"external_id": "loc:Main Warehouse", "name": "Main Warehouse",
                               "kind": "warehouse"}}
    where = by_id(records.orders)
    assert where["5512000000008"]["location_external_id"] == "loc:Main Street Store"
    assert where["5512000000001"]["location_external_id"] == "loc:Main Warehouse"


def test_online_location_without_renames():
    records = read_exports(ORDERS, INVENTORY, snapshot_date=DAY)
    kinds = dict(zip(records.locations["external_id"], records.locations["kind"]))
    assert kinds == {"loc:Main Street Store": "store", "loc:Online": "warehouse",
                     "loc:Main Warehouse": "warehouse"}


def test_fixture_inventory(full):
    records, report = full
    inv = records.inventory.set_index(["sku", "location_external_id"])
    assert len(inv) == 11  # 12 rows, SOCK-GRY is not stocked at the store
    assert ("SOCK-GRY", "loc:Main Street Store") not in inv.index
    row = inv.loc[("TEE-BLK-L", "loc:Main Warehouse")]
    assert (row["available"], row["on_hand"], row["committed"], row["incoming"]) == (30, 33,
                                                                                      1, 0)
    assert inv.loc[("TEE-BLK-M", "loc:Main Street Store"), "available"] == -1
    assert inv["available"].sum() == 188
    assert set(records.inventory["date"]) == {pd.Timestamp(DAY)}
    assert report.not_stocked == 1
    assert report.negative_available == [("TEE-BLK-M", "Main Street Store")]


def test_fixture_products_and_variants(full):
    records, _ = full
    products = by_id(records.products)
    assert set(products) == {"handle:classic-tee", "handle:ceramic-mug", "handle:wool-socks",
                             "sku:TOTE-CNV"}  # the tote was sold but is not in inventory
    assert products["handle:ceramic-mug"]["vendor"] == "Clayworks"
    variants = by_id(records.variants, "sku")
    assert len(variants) == 7
    assert variants["TEE-WHT-L"]["title"] == "Classic Tee - White / L"
    assert variants["MUG-WHT"]["title"] == "Ceramic Mug"  # "Default Title" dropped
    assert variants["SOCK-GRY"]["price"] == 9.5  # latest sale, not the older 9.00
    assert pd.isna(variants["TEE-WHT-L"]["price"])  # never sold
    assert variants["TOTE-CNV"]["product_external_id"] == "sku:TOTE-CNV"


def test_fixture_suppliers(full):
    records, _ = full
    assert len(records.suppliers) == 3
    items = records.supplier_items.set_index(["supplier_external_id", "sku"])
    assert len(items) == 7
    defaults = items.loc[("supplier:Northwind Apparel", "TEE-WHT-L")]
    assert (defaults["lead_time_std_days"], defaults["moq"], defaults["case_pack"]) == (0, 1, 1)
    socks = items.loc[("supplier:Woolly Socks Co", "SOCK-GRY")]
    assert (socks["lead_time_days"], socks["moq"], socks["unit_cost"]) == (10, 100, 2.35)


def test_orders_only_makes_products_from_lines():
    records = read_exports(ORDERS)
    assert records.inventory.empty and records.suppliers.empty
    variants = by_id(records.variants, "sku")
    assert len(variants) == 6 and len(records.products) == 6
    assert variants["TEE-BLK-M"]["title"] == "Classic Tee - Black / M"
    assert variants["TEE-BLK-M"]["product_external_id"] == "sku:TEE-BLK-M"
    assert by_id(records.products)["sku:SOCK-GRY"]["vendor"] == "Woolly Socks Co"


def test_warnings_are_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="connector.adapters.shopify_csv"):
        read_exports(ORDERS)
    assert "1 order line item(s) without a SKU skipped (orders file lines 5)" in caplog.text


def test_header_only_orders_and_default_snapshot_day(tmp_path):
    records = read_exports(orders_csv(tmp_path), INVENTORY)
    assert records.orders.empty and records.order_lines.empty and records.customers.empty
    assert set(records.inventory["date"]) == {pd.Timestamp(date.today())}


# --- order rows ---------------------------------------------------------------------------

def test_order_fields_come_from_the_first_row(tmp_path):
    path = orders_csv(
        tmp_path,
        "#1001,a@example.com,yes,2026-03-14 10:22:05 -0400,2,Tee,25.00,TEE-M,,web,,11",
        "#1001,b@example.com,no,2030-01-01 00:00:00 +0000,1,Mug,14.00,MUG,,pos,Shop,99",
    )
    records = read_exports(path)
    [order] = records.orders.to_dict("records")
    assert order["external_id"] == "11" and order["source"] == "web"
    assert order["created_at"] == pd.Timestamp("2026-03-14 14:22:05", tz="UTC")
    assert order["customer_external_id"] == "email:a@example.com"
    assert order["location_external_id"] == "loc:Online"
    assert list(records.order_lines["external_id"]) == ["11:1", "11:2"]
    assert list(records.customers["external_id"]) == ["email:a@example.com"]


def test_name_is_the_id_without_id_column_and_iso_dates(tmp_path):
    header = "Created at,Lineitem sku,Name,Lineitem price,Lineitem quantity"
    path = orders_csv(tmp_path, "2026-03-14T10:22:05+02:00,TEE,#7,5,1",
                      "2026-03-14T10:22:05.5Z,TEE,#8,5,3.0", header=header)
    orders = read_exports(path).orders
    assert list(orders["external_id"]) == ["#7", "#8"]
    assert list(orders["created_at"]) == [pd.Timestamp("2026-03-14 08:22:05", tz="UTC"),
                                          pd.Timestamp("2026-03-14 10:22:05.5", tz="UTC")]


def test_bom_and_header_whitespace_tolerated(tmp_path):
    header = " Name , Email,Accepts Marketing,Created at ,Lineitem quantity,Lineitem name,"\
             "Lineitem price,Lineitem sku,Cancelled at,Source,Location,Id"
    path = write(tmp_path, "orders_export.csv", header + "\n" + GOOD_ROWS[0] + "\n",
                 encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert list(read_exports(path).orders["name"]) == ["#1001"]


def test_extra_columns_ignored_and_order_free(tmp_path):
    header = "Lineitem sku,Gift Wrap,Lineitem price,Created at,Name,Lineitem quantity,Flags"
    path = orders_csv(tmp_path, 'TEE,yes,25.00,2026-03-14 10:22:05 -0400,#1,2,"a,b"',
                      header=header)
    records = read_exports(path)
    assert records.order_lines[["sku", "quantity", "price"]].values.tolist() == [
        ["TEE", 2, 25.0]]


def test_multiline_notes_keep_line_numbers(tmp_path):
    header = "Name,Created at,Notes,Lineitem quantity,Lineitem price,Lineitem sku"
    path = orders_csv(
        tmp_path,
        '#1,2026-03-14 10:22:05 -0400,"ring twice\nthen wait\n\nthanks",1,5,TEE',
        "#2,2026-03-14 10:22:05 -0400,,abc,5,TEE", header=header)
    with pytest.raises(CsvImportError) as err:
        read_exports(path)
    assert (err.value.line, err.value.column) == (6, "Lineitem quantity")
    # A bad cell after the note, in the same record, is on the note's last line.
    path = orders_csv(tmp_path, '#1,2026-03-14 10:22:05 -0400,"ring\ntwice",0,5,TEE',
                      header=header)
    with pytest.raises(CsvImportError) as err:
        read_exports(path)
    assert (err.value.line, err.value.column) == (3, "Lineitem quantity")


# --- bad input ----------------------------------------------------------------------------

def raises(func, *args, **kwargs) -> CsvImportError:
    with pytest.raises(CsvImportError) as err:
        func(*args, **kwargs)
    assert isinstance(err.value, ValueError)
    return err.value


def test_error_text_names_file_line_and_column(tmp_path):
    path = orders_csv(tmp_path, *GOOD_ROWS[:2],
                      "#1001,,,,abc,Mug,14.00,MUG,,,,")
    error = raises(read_exports, path)
    assert str(error).startswith(
        "orders_export.csv, line 4, column 'Lineitem quantity': 'abc' is not a number")
    assert (error.file, error.line, error.column) == ("orders_export.csv", 4,
                                                      "Lineitem quantity")


BAD_ORDERS = [
    ("#1002,,,2026-03-15 09:00:00 -0400,1,Mug,1O.00,MUG,,,,12", "Lineitem price",
     "is not a number"),
    ("#1002,,,yesterday,1,Mug,10.00,MUG,,,,12", "Created at", "is not a date and time"),
    ("#1002,,,2026-02-30 09:00:00 -0400,1,Mug,10.00,MUG,,,,12", "Created at",
     "is not a valid date"),
    ("#1002,,,2026-03-15 09:00:00,1,Mug,10.00,MUG,,,,12", "Created at", "UTC offset"),
    ("#1002,,,,1,Mug,10.00,MUG,,,,12", "Created at", "is blank"),
    ("#1002,,,2026-03-15 09:00:00 -0400,1,Mug,10.00,MUG,3/16/2026,,,12", "Cancelled at",
     "is not a date and time"),
    ("#1002,,,2026-03-15 09:00:00 -0400,-2,Mug,10.00,MUG,,,,12", "Lineitem quantity",
     "is negative"),
    ("#1002,,,2026-03-15 09:00:00 -0400,0,Mug,10.00,MUG,,,,12", "Lineitem quantity",
     "is zero"),
    ("#1002,,,2026-03-15 09:00:00 -0400,1.5,Mug,10.00,MUG,,,,12", "Lineitem quantity",
     "is not a whole number"),
    ("#1002,,,2026-03-15 09:00:00 -0400,1,Mug,-10.00,MUG,,,,12", "Lineitem price",
     "is negative"),
    ("#1002,,,2026-03-15 09:00:00 -0400,1,Mug,,MUG,,,,12", "Lineitem price", "is blank"),
    ("#1002,,maybe,2026-03-15 09:00:00 -0400,1,Mug,10.00,MUG,,,,12", "Accepts Marketing",
     "is not yes or no"),
    ("#1002,,,2026-03-15 09:00:00 -0400,1,Mug,10.00,MUG,,,,5.51E+12", "Id",
     "is not a Shopify order id"),
    ("#1002,,,2026-03-15 09:00:00 -0400,1,Mug,10.00,MUG,,,,11", "Id",
     "also used by the order on line 2"),
    (",,,2026-03-15 09:00:00 -0400,1,Mug,10.00,MUG,,,,12", "Name", "is blank"),
    ("#1002,,,2026-03-15 09:00:00 -0400,nan,Mug,10.00,MUG,,,,12", "Lineitem quantity",
     "is not a number"),
]


@pytest.mark.parametrize("row,column,message", BAD_ORDERS)
def test_bad_order_value(tmp_path, row, column, message):
    error = raises(read_exports, orders_csv(tmp_path, *GOOD_ROWS[:3], row))
    assert (error.file, error.line, error.column) == ("orders_export.csv", 5, column)
    assert message in error.message


def test_exact_duplicate_row_names_both_lines(tmp_path):
    error = raises(read_exports, orders_csv(tmp_path, *GOOD_ROWS, GOOD_ROWS[2]))
    assert (error.line, error.column) == (6, None)
    assert "duplicate line item" in error.message and "line 4" in error.message


def test_same_sku_twice_in_an_order_with_a_difference_is_fine(tmp_path):
    path = orders_csv(tmp_path, *GOOD_ROWS[:3], "#1001,,,,1,Mug (gift box),14.00,MUG,,,,")
    lines = read_exports(path).order_lines
    assert list(lines["sku"]) == ["TEE-M", "MUG", "MUG"]


def test_order_rows_split_apart(tmp_path):
    error = raises(read_exports, orders_csv(tmp_path, GOOD_ROWS[0], GOOD_ROWS[3],
                                            GOOD_ROWS[2]))
    assert (error.line, error.column) == (4, "Name")
    assert "started on line 2" in error.message


def test_missing_columns_named_together(tmp_path):
    header = "Name,Email,Lineitem quantity,Lineitem name"
    error = raises(read_exports, orders_csv(tmp_path, "#1,,1,Tee", header=header))
    assert (error.line, error.column) == (1, None)
    for col in ("Created at", "Lineitem sku", "Lineitem price"):
        assert f"'{col}'" in error.message


@pytest.mark.parametrize("text,line,message", [
    ("", 1, "the file is empty"),
    ("\n" + ORDER_HEADER + "\n", 1, "line 1 is blank"),
    ("Name;Created at;Lineitem sku\n", 1, "semicolons"),
    (ORDER_HEADER + "\n" + GOOD_ROWS[0] + ",extra,cells\n", 2, "the row has 14 cells"),
    (ORDER_HEADER + "\n" + GOOD_ROWS[0] + "\n" + ORDER_HEADER + "\n", 3,
     "header row appears again"),
    (ORDER_HEADER + "\n" + GOOD_ROWS[0] + '\n#1002,"unclosed,,\n\n', 3, "never closed"),
])
def test_broken_files(tmp_path, text, line, message):
    error = raises(read_exports, write(tmp_path, "orders_export.csv", text))
    assert error.line == line and message in error.message


def test_not_utf8(tmp_path):
    path = write(tmp_path, "orders_export.csv",
                 ORDER_HEADER + "\n" + GOOD_ROWS[0].replace("Tee", "Té") + "\n", "cp1252")
    error = raises(read_exports, path)
    assert error.line == 2 and "UTF-8" in error.message


def test_missing_file(tmp_path):
    error = raises(read_exports, tmp_path / "nope.csv")
    assert (error.file, error.line) == ("nope.csv", None)


def inventory_csv(tmp_path: Path, *rows: str, header: str = INVENTORY_HEADER) -> Path:
    return write(tmp_path, "inventory_export.csv", "\n".join([header, *rows]) + "\n")


INV_OK = ("tee,Tee,Size,M,TEE-M,Warehouse,1,5,6", "mug,Mug,Title,Default Title,MUG,Warehouse,,3,")


@pytest.mark.parametrize("row,column,message", [
    ("tee,Tee,Size,M,TEE-M,Store,0,lots,1", "Available", "is not a number"),
    ("tee,Tee,Size,M,TEE-M,Store,0,,1", "Available", "is blank"),
    ("tee,Tee,Size,M,TEE-M,Store,-1,2,1", "Committed", "is negative"),
    ("tee,Tee,Size,M,TEE-M,Warehouse,0,2,2", "Location", "already appears on line 2"),
    ("shirt,Shirt,Size,M,TEE-M,Store,0,2,2", "SKU", "also belongs to another product"),
    ("tee,Tee,Size,M,TEE-M,,0,2,2", "Location", "is blank"),
])
def test_bad_inventory(tmp_path, row, column, message):
    error = raises(read_exports, orders_csv(tmp_path, GOOD_ROWS[0]),
                   inventory_csv(tmp_path, *INV_OK, row))
    assert (error.file, error.line, error.column) == ("inventory_export.csv", 4, column)
    assert message in error.message


def test_inventory_on_hand_fallback_and_not_stocked(tmp_path):
    header = "SKU,Location,Available,Committed,Unavailable"
    path = inventory_csv(tmp_path, "TEE-M,Warehouse,-2,3,1", "TEE-M,Store,not stocked,,",
                         ",Warehouse,4,0,0", header=header)
    report = ImportReport()
    records = read_exports(orders_csv(tmp_path, GOOD_ROWS[0]), path, report=report,
                           snapshot_date="2026-01-02")
    [row] = records.inventory.to_dict("records")
    assert (row["available"], row["on_hand"], row["committed"]) == (-2, 2, 3)
    assert pd.isna(row["incoming"]) and row["date"] == pd.Timestamp("2026-01-02")
    assert report.not_stocked == 1 and report.inventory_without_sku == [4]
    assert by_id(records.variants, "sku")["TEE-M"]["product_external_id"] == "sku:TEE-M"


def suppliers_csv(tmp_path: Path, *rows: str, header: str = SUPPLIER_HEADER) -> Path:
    return write(tmp_path, "suppliers.csv", "\n".join([header, *rows]) + "\n")


@pytest.mark.parametrize("row,column,message", [
    ("TEE-X,Acme,10,,,,", "sku", "unknown SKU 'TEE-X'"),
    ("MUG,Acme,0,,,,", "lead_time_days", "is zero"),
    ("MUG,Acme,-3,,,,", "lead_time_days", "is negative"),
    ("MUG,Acme,,,,,", "lead_time_days", "is blank"),
    ("MUG,Acme,ten,,,,", "lead_time_days", "is not a number"),
    ("MUG,Acme,10,-1,,,", "lead_time_std_days", "is negative"),
    ("MUG,Acme,10,,0,,", "moq", "is zero"),
    ("MUG,Acme,10,,2.5,,", "moq", "is not a whole number"),
    ("MUG,Acme,10,,,0,", "case_pack", "is zero"),
    ("MUG,Acme,10,,,-6,", "case_pack", "is negative"),
    ("MUG,Acme,10,,,,$4", "unit_cost", "is not a number"),
    ("MUG,,10,,,,", "supplier", "is blank"),
    ("TEE-M,Acme,12,,,,", "sku", "already appears on line 2"),
])
def test_bad_suppliers(tmp_path, row, column, message):
    path = suppliers_csv(tmp_path, "TEE-M,Acme,10,2,12,6,3.10", "MUG,Clayworks,7,,,,", row)
    error = raises(read_exports, orders_csv(tmp_path, *GOOD_ROWS), suppliers=path)
    assert (error.file, error.line, error.column) == ("suppliers.csv", 4, column)
    assert message in error.message


def test_supplier_header_case_insensitive_and_missing_columns(tmp_path):
    orders = orders_csv(tmp_path, *GOOD_ROWS)
    path = suppliers_csv(tmp_path, " TEE-M , Acme ,10", header="SKU, Supplier ,Lead_Time_Days")
    items = read_exports(orders, suppliers=path).supplier_items
    assert items[["supplier_external_id", "sku", "moq"]].values.tolist() == [
        ["supplier:Acme", "TEE-M", 1]]
    error = raises(read_exports, orders, suppliers=suppliers_csv(tmp_path, "TEE-M",
                                                                  header="sku"))
    assert error.line == 1 and "'supplier', 'lead_time_days'" in error.message


def test_nothing_is_written(tmp_path):
    orders = orders_csv(tmp_path, *GOOD_ROWS)
    suppliers = suppliers_csv(tmp_path, "NOPE,Acme,10,,,,")
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    report = ImportReport()
    raises(read_exports, orders, suppliers=suppliers, report=report)
    assert report == ImportReport()  # filled only on success
    read_exports(orders)
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_bad_location_names_argument():
    with pytest.raises(ValueError):
        read_exports(ORDERS, location_names={"Online": ""})
