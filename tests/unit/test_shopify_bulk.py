"""The streamed bulk-result reader: hand-made JSONL, expected groupings written out by hand."""
from __future__ import annotations

import gc

import pytest

from connector.adapters.shopify.bulk import (BulkFileError, batch_gc, grouped_batches,
                                             parse_lines, read_batches)

ORDER = "gid://shopify/Order/{}"
LINE = "gid://shopify/LineItem/{}"
CHILDREN = {"LineItem": "lineItems"}


def jsonl(*lines: str) -> list[bytes]:
    return [(line + "\n").encode() for line in lines]


def order(n: int) -> str:
    return f'{{"id":"{ORDER.format(n)}","name":"#{n}"}}'


def item(n: int, parent: int, qty: int = 1) -> str:
    return f'{{"id":"{LINE.format(n)}","quantity":{qty},"__parentId":"{ORDER.format(parent)}"}}'


def shape(batches) -> list[list[tuple[str, list[str]]]]:
    """Each batch as [(order name, [line ids])]."""
    return [[(o["name"], [li["id"].rsplit("/", 1)[1] for li in o["lineItems"]["nodes"]])
             for o in batch] for batch in batches]


def test_children_stay_with_their_parent_across_batch_borders():
    # order 2's lines come after the batch of orders 1-2 is full; order 4 has none
    lines = jsonl(order(1), item(11, 1), item(12, 1), order(2), item(21, 2), item(22, 2),
                  item(23, 2), order(3), item(31, 3), order(4), order(5), item(51, 5))
    got = shape(grouped_batches(parse_lines(lines), CHILDREN, 2))
    assert got == [[("#1", ["11", "12"]), ("#2", ["21", "22", "23"])],
                   [("#3", ["31"]), ("#4", [])],
                   [("#5", ["51"])]]
    # batch size does not change what is grouped, only how it is cut
    assert shape(grouped_batches(parse_lines(lines), CHILDREN, 10)) == \
        [[x for batch in got for x in batch]]


def test_a_child_loses_its_parent_id_and_keeps_its_fields():
    (batch,) = grouped_batches(parse_lines(jsonl(order(1), item(11, 1, qty=3))), CHILDREN, 5)
    assert batch == [{"id": ORDER.format(1), "name": "#1",
                      "lineItems": {"nodes": [{"id": LINE.format(11), "quantity": 3}]}}]


def test_a_batch_is_handed_out_before_the_rest_of_the_file_is_read():
    consumed = []

    def source():
        for number, raw in enumerate(jsonl(order(1), item(11, 1), order(2), item(21, 2),
                                           order(3), item(31, 3), order(4)), start=1):
            consumed.append(number)
            yield raw

    batches = grouped_batches(parse_lines(source()), CHILDREN, 2)
    first = next(batches)
    assert [o["name"] for o in first] == ["#1", "#2"]
    assert consumed == [1, 2, 3, 4, 5]  # read up to order 3, which closes the batch
    assert [o["name"] for o in next(batches)] == ["#3", "#4"]


def test_blank_lines_are_skipped_but_counted():
    lines = [b"\n", *jsonl(order(1)), b"   \n", b'{"x": }\n']
    with pytest.raises(BulkFileError, match=r"line 4 is not JSON"):
        list(parse_lines(lines))
    assert [n for n, _ in parse_lines(lines[:3])] == [2]


def test_a_malformed_line_names_its_number():
    lines = jsonl(order(1), item(11, 1), '{"id":"gid://shopify/Order/2","name":', order(3))
    with pytest.raises(BulkFileError, match=r"bulk result line 3 is not JSON .*Order/2"):
        list(grouped_batches(parse_lines(lines), CHILDREN, 10))


def test_a_line_that_is_json_but_no_object_names_its_number():
    with pytest.raises(BulkFileError, match=r"line 2 is not a JSON object: '\[1, 2\]'"):
        list(parse_lines(jsonl(order(1), "[1, 2]")))


def test_a_child_before_its_parent_is_an_error_with_its_line():
    with pytest.raises(BulkFileError, match=r"line 1: .*LineItem/11.* belongs to .*Order/1.* "
                                            r"before any parent object.*groupObjects: true"):
        list(grouped_batches(parse_lines(jsonl(item(11, 1), order(1))), CHILDREN, 10))


def test_a_child_separated_from_its_parent_is_an_error_with_its_line():
    # ungrouped output: order 1's second line comes after order 2
    lines = jsonl(order(1), item(11, 1), order(2), item(12, 1))
    with pytest.raises(BulkFileError, match=r"line 4: .*LineItem/12.* belongs to .*Order/1.* "
                                            r"after gid://shopify/Order/2"):
        list(grouped_batches(parse_lines(lines), CHILDREN, 1))


def test_an_undeclared_child_type_is_an_error():
    lines = jsonl(order(1), '{"id":"gid://shopify/Fulfillment/5","__parentId":"'
                  + ORDER.format(1) + '"}')
    with pytest.raises(BulkFileError, match=r"line 2: unexpected child object "
                                            r".*Fulfillment/5.*expected one of \['LineItem'\]"):
        list(grouped_batches(parse_lines(lines), CHILDREN, 10))


def test_inventory_level_ids_with_a_query_part_are_typed_by_their_path():
    loc = "gid://shopify/Location/1"
    lines = jsonl(f'{{"id":"{loc}"}}',
                  f'{{"id":"gid://shopify/InventoryLevel/7?inventory_item_id=9",'
                  f'"__parentId":"{loc}"}}')
    (batch,) = grouped_batches(parse_lines(lines), {"InventoryLevel": "inventoryLevels"}, 3)
    assert [lv["id"] for lv in batch[0]["inventoryLevels"]["nodes"]] == \
        ["gid://shopify/InventoryLevel/7?inventory_item_id=9"]


def test_read_batches_reads_a_file_with_escaped_slashes(tmp_path):
    # Shopify's writer may escape "/" as "\/"; JSON decoding gives the same ids
    path = tmp_path / "result.jsonl"
    path.write_bytes(b'{"id":"gid:\\/\\/shopify\\/Order\\/1","name":"#1"}\n'
                     b'{"id":"gid:\\/\\/shopify\\/LineItem\\/11",'
                     b'"__parentId":"gid:\\/\\/shopify\\/Order\\/1"}\n')
    with path.open("rb") as f:
        assert shape(read_batches(f, CHILDREN, 2)) == [[("#1", ["11"])]]


def test_an_empty_file_gives_no_batch_and_a_bad_size_is_refused():
    assert list(grouped_batches(parse_lines([]), CHILDREN, 3)) == []
    with pytest.raises(ValueError, match="batch size must be a whole number >= 1, not 0"):
        list(grouped_batches(parse_lines([]), CHILDREN, 0))


def test_batch_gc_restores_the_collector():
    assert gc.isenabled()
    with batch_gc() as collect:
        assert not gc.isenabled()
        collect()
    assert gc.isenabled()
    gc.disable()
    try:
        with batch_gc():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
