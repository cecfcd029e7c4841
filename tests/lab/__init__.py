"""The test lab: real Debian hosts in network namespaces, and WinRM twins on loopback.

``python -m tests.lab up|status|down`` drives it by hand; ``tests/lab/fixtures.py`` gives
pytest session fixtures doing the same. Everything lives under ``$OSIRIS_LAB_DIR``
(default ``/var/lib/osiris-lab``) and the base root filesystem is cached under
``$OSIRIS_LAB_CACHE`` (default ``/var/cache/osiris-lab``), outside the repository.
The lab needs root (namespaces, overlay mounts, systemd-nspawn).

Traffic stays on this machine: the lab's addresses (10.251.0.0/16) exist only on veth
pairs between this host and the lab's namespaces, and the twins listen on 127.0.0.1.
"""
