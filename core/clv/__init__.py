"""Customer lifetime value: BG/NBD purchase counts, Gamma-Gamma spend, discounted CLV.

- :mod:`.data`: transactions (customer_id, date, amount) to per-customer (x, t_x, T,
  monetary) in weeks, and holdout counts; the CDNOW test data of the ``lifetimes`` wheel.
- :mod:`.bgnbd`: the BG/NBD model (Fader, Hardie & Lee 2005): likelihood, fit, P(alive),
  conditional and unconditional expected purchases.
- :mod:`.gamma_gamma`: the Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV").
- :mod:`.value`: discounted CLV over a horizon and the prior-shrunk fit for small shops.
"""
from .bgnbd import BGNBD, BGNBDFit, fit_bgnbd
from .data import holdout_weeks, read_cdnow, summarize
from .gamma_gamma import GammaGamma, GammaGammaFit, fit_gamma_gamma
from .value import (CDNOW_PRIOR, DEFAULT_PRIOR_WEIGHT, ClvFit, ClvModels, customer_value,
                    fit_models, fit_with_prior)

__all__ = ["BGNBD", "BGNBDFit", "fit_bgnbd", "GammaGamma", "GammaGammaFit", "fit_gamma_gamma",
           "summarize", "holdout_weeks", "read_cdnow", "ClvModels", "ClvFit", "fit_models",
           "fit_with_prior", "customer_value", "CDNOW_PRIOR", "DEFAULT_PRIOR_WEIGHT"]
