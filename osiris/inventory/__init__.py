"""Ansible inventories, unchanged, turned into :class:`osiris.model.Host` records."""

from osiris.inventory.hosts import load_inventory, local_host

__all__ = ["load_inventory", "local_host"]
