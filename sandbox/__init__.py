"""Sandbox shop: a deterministic simulated Shopify shop with known ground truth.

Use :func:`generate` to build a :class:`SandboxShop` (intake records + truth + receipts).
"""
from sandbox.generator import generate
from sandbox.model import PATTERNS, SandboxShop, SandboxTruth

__all__ = ["generate", "SandboxShop", "SandboxTruth", "PATTERNS"]
