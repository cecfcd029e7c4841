"""Everything a scan needs, loaded and validated before anything is written.

Bad input (inventory, config, catalog, secrets) raises InputError here, so a scan that
cannot start leaves no run row and creates no site.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from osiris.catalog import Catalog, load_catalog
from osiris.catalog.model import Check
from osiris.catalog.thresholds import resolver, validate_overrides
from osiris.config import SiteConfig, load_config
from osiris.errors import InputError
from osiris.inventory import load_inventory, local_host
from osiris.inventory.secrets import load_secrets
from osiris.model import Host
from osiris.scan.interpret import ThresholdsFor
from osiris.scan.runner import ScanSettings
from osiris.site import CONFIG_FILE
from osiris.transport import TransportOptions


@dataclass(frozen=True)
class ScanRequest:
    home: Path
    inventories: Sequence[Path] = ()
    limit: str | None = None
    check_ids: Sequence[str] = ()
    tags: Sequence[str] = ()
    framework: str | None = None
    forks: int | None = None
    timeout: float | None = None
    accept_new_host_keys: bool = False
    catalog_dir: Path | None = None


@dataclass(frozen=True)
class ScanPlan:
    hosts: tuple[Host, ...]
    checks: tuple[Check, ...]
    thresholds_for: ThresholdsFor
    settings: ScanSettings
    inventory_sources: tuple[str, ...]


def load_site_config(home: Path) -> SiteConfig | None:
    path = home / CONFIG_FILE
    return load_config(path) if path.exists() else None


def plan_scan(request: ScanRequest) -> ScanPlan:
    config = load_site_config(request.home)
    catalog = load_catalog(request.catalog_dir)
    overrides = config.thresholds if config else {}
    if config:
        validate_overrides(catalog, overrides, request.home / CONFIG_FILE)
    hosts = select_hosts(request)
    checks = _select_checks(catalog, request)
    scan_config = config.scan if config else SiteConfig(site_id="x").scan
    known_hosts = config.ssh.known_hosts if config else ("~/.ssh/known_hosts",)
    timeout = request.timeout or scan_config.timeout
    settings = ScanSettings(
        forks=request.forks or scan_config.forks,
        timeout=timeout,
        transport=TransportOptions(
            known_hosts=tuple(known_hosts),
            accept_new_host_keys=request.accept_new_host_keys,
            # the per-host timeout includes connecting (a port that never speaks SSH)
            connect_timeout=min(TransportOptions.connect_timeout, timeout),
        ),
    )
    return ScanPlan(
        hosts=tuple(hosts),
        checks=tuple(checks),
        thresholds_for=resolver(overrides),
        settings=settings,
        inventory_sources=tuple(str(p) for p in request.inventories),
    )


def select_hosts(request: ScanRequest) -> list[Host]:
    """The inventory's hosts (or this machine), narrowed by ``--limit``."""
    if request.inventories:
        secrets = load_secrets(request.home / "secrets.yaml")
        return load_inventory(request.inventories, limit=request.limit, secrets=secrets)
    host = local_host()
    if request.limit and not fnmatch.fnmatch(host.name, request.limit):
        raise InputError(f"--limit '{request.limit}' matches no host (this machine is {host.name})")
    return [host]


def _select_checks(catalog: Catalog, request: ScanRequest) -> list[Check]:
    chosen = catalog.select(ids=request.check_ids, tags=request.tags, framework=request.framework)
    if not len(chosen):
        raise InputError("the filters select no check")
    return list(chosen)
