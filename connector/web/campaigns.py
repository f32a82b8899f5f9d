"""Campaigns: the list ``/campaigns`` and the verification ``/campaigns/<id>``.

The verification is :func:`core.campaigns.verify_campaign` (a forecast baseline made from
the data before the campaign, against the units actually sold, stockout days corrected):
uplift with its 95 % interval, incremental units and the dip after the campaign
(``?post_days=`` sets the days watched after it, default 14). It runs the forecast when the
page is opened, so it takes a moment for campaigns over many SKUs.
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from core.campaigns import POST_DAYS, campaign_days, verify_campaign
from core.storage import Campaign

from .common import current_run, current_shop, db, finite, int_arg, run_summary
from .minicharts import HBar, hbar_chart

__all__ = ["bp", "uplift_chart"]

bp = Blueprint("campaign_pages", __name__)


def _fmt_ratio(v: float) -> str:
    return f"{v:.2f}×"


def uplift_chart(result: dict):
    """Bars of the uplift per SKU and in total, with 95 % whiskers and a line at 1 (no
    effect). The axis ends at 2.5 times the largest uplift (at least 2×): a longer whisker
    ends in an arrow and its upper end is written in the note."""
    rows = [(row["sku"], row) for row in result["skus"]] + [("All SKUs", result["total"])]
    top = max([finite(f.get("uplift")) or 0.0 for _, f in rows] + [1.0])
    limit = max(2.0, 2.5 * top)
    bars = []
    for label, f in rows:
        u, hi = finite(f.get("uplift")), finite(f.get("uplift_high"))
        note = "n/a" if u is None else _fmt_ratio(u) + (
            f" (interval to {hi:.1f}×)" if hi is not None and hi > limit else "")
        bars.append(HBar(label, u, low=finite(f.get("uplift_low")), high=hi, note=note))
    return hbar_chart(bars, "Uplift: actual ÷ baseline units, with 95% interval",
                      reference=1.0, ref_label="1× = no effect", label_w=180, fmt=_fmt_ratio,
                      limit=limit, width=820, note_w=200)


@bp.get("/campaigns")
def index():
    """The shop's campaigns, newest first."""
    shop = current_shop()
    rows = []
    for camp in db().scalars(select(Campaign).where(Campaign.shop_id == shop.id)
                             .order_by(Campaign.starts_at.desc(), Campaign.id.desc())):
        start, end = campaign_days(camp, shop.timezone or "UTC")
        rows.append({"campaign": camp, "start": start.date(), "end": end.date(),
                     "days": (end - start).days + 1, "skus": len(camp.skus or [])})
    return render_template("campaigns.html", shop=shop, header=run_summary(current_run(shop)),
                           rows=rows, active="campaigns")


@bp.get("/campaigns/<int:campaign_id>")
def show(campaign_id: int):
    """Verify one campaign against its forecast baseline."""
    shop = current_shop()
    post_days = int_arg("post_days", POST_DAYS, 0, 90)
    camp = db().scalar(select(Campaign).where(Campaign.shop_id == shop.id,
                                              Campaign.id == campaign_id))
    if camp is None:
        abort(404, description=f"Shop {shop.name!r} has no campaign {campaign_id}.")
    result, problem, chart = None, None, ""
    try:
        result = verify_campaign(db(), shop, campaign_id, post_days=post_days)
    except ValueError as exc:
        problem = str(exc)
    if result is not None and (result["skus"] or finite(result["total"].get("uplift"))):
        chart = uplift_chart(result)
    start, end = campaign_days(camp, shop.timezone or "UTC")
    return render_template("campaign.html", shop=shop, header=run_summary(current_run(shop)),
                           campaign=camp, start=start.date(), end=end.date(), result=result,
                           problem=problem, chart=chart, post_days=post_days,
                           active="campaigns")
