"""Customer lifetime value in replenishment: SKU weights for service levels, stock
protection for high-LTV and repeat customers, excess stock sell-or-hold, and the measured
effect of stockouts on customers.

Pure functions take DataFrames (customer values: ``customer_id, p_alive,
expected_purchases_90d, predicted_clv, segment``); :mod:`core.ltv.apply` reads storage and
writes the LTV fields of plan lines.
"""
from .apply import LtvSettings, apply_ltv, ltv_weights_for_plan, shop_stockout_impact
from .excess import excess
from .protection import customer_demand, protect
from .stockout_impact import compare, stockout_events, stockout_impact
from .weights import ltv_weight_table, ltv_weights

__all__ = ["LtvSettings", "apply_ltv", "ltv_weights_for_plan", "shop_stockout_impact",
           "excess", "customer_demand", "protect", "compare", "stockout_events",
           "stockout_impact", "ltv_weight_table", "ltv_weights"]
