"""The ERP/WMS delivery channels refuse clearly when their settings are missing."""
from types import SimpleNamespace

import pytest

from connector.delivery.channels import DeliveryError
from connector.delivery.platforms import _shipbob_send, _tryton_client


def test_tryton_channel_needs_its_environment():
    with pytest.raises(DeliveryError, match="RESTOCK_TRYTON_URL") as err:
        _tryton_client({}, {})
    assert err.value.permanent


def test_shipbob_channel_needs_a_token_and_a_fulfillment_center():
    doc = SimpleNamespace(number="PO-1", ship_to="Main", ship_to_external_id="1",
                          expected_date=None, lines=())
    call = SimpleNamespace(order=doc, config={})
    with pytest.raises(DeliveryError, match="SHIPBOB_TOKEN"):
        _shipbob_send({})(call)
    with pytest.raises(DeliveryError, match="not a ShipBob fulfillment center"):
        _shipbob_send({"SHIPBOB_TOKEN": "t"})(call)
