"""The check catalog: one YAML file per check in ``checks/``, validated at load."""

from osiris.catalog.loader import Catalog, default_catalog_dir, load_catalog
from osiris.catalog.model import Check

__all__ = ["Catalog", "Check", "default_catalog_dir", "load_catalog"]
