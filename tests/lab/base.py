"""The cached base root filesystems lab hosts boot from (read-only lower layers).

``Base.LAB``: built once with debootstrap, then the packages the checks and runbooks
need are added in a chroot (lab hosts have no route out, so everything must be in the
base). ``Base.STOCK``: Debian 12 as debootstrap's default variant leaves it (required and
important packages) plus openssh-server, with nothing of osiris's: the host a practice
starts from. Each cache key is a digest of its recipe: change a recipe and that base is
rebuilt; the other is untouched.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import IO

from tests.lab.paths import CACHE_DIR

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
DEBOOTSTRAP_INCLUDE = ("openssh-server", "python3", "sudo", "iproute2", "procps")
# What the checks probe and the runbooks configure. Keep sorted.
PACKAGES = (
    "aide",
    "aide-common",
    "apt-utils",
    "auditd",
    "borgbackup",
    "ca-certificates",
    "chrony",
    "clamav",
    "clamav-daemon",
    "cron",
    "cryptsetup-bin",
    "dbus",
    "dropbear-bin",
    "kmod",
    "libpam-pwquality",
    "logrotate",
    "lynis",
    "nftables",
    "openssl",
    "python3-apt",
    "restic",
    "rsyslog",
    "systemd",
    "systemd-sysv",
    "ufw",
    "unattended-upgrades",
)
_LAB_PACKAGES = """set -e
build() {
  mkdir -p /tmp/pkg/DEBIAN /tmp/pkg/usr/share/doc/osiris-lab-tool
  printf 'Package: osiris-lab-tool\\nVersion: %s\\nArchitecture: all\\nMaintainer: lab <lab@osiris.invalid>\\nDescription: lab package\\n' "$1" > /tmp/pkg/DEBIAN/control
  echo "$1" > /tmp/pkg/usr/share/doc/osiris-lab-tool/version
  dpkg-deb -b /tmp/pkg "$2" >/dev/null
  rm -rf /tmp/pkg
}
mkdir -p /srv/lab-security
build 1.0 /tmp/osiris-lab-tool_1.0_all.deb
dpkg -i /tmp/osiris-lab-tool_1.0_all.deb >/dev/null
rm /tmp/osiris-lab-tool_1.0_all.deb
build 1.1 /srv/lab-security/osiris-lab-tool_1.1_all.deb
cd /srv/lab-security
apt-ftparchive packages . > Packages
printf 'Origin: Debian\\nLabel: Debian-Security\\nSuite: bookworm-security\\nCodename: bookworm-security\\n' > Release"""

# OpenSSL 1.1 from Debian 11, kept as .debs for a drift that puts a host back on it (the
# TLS policy check reads openssl.cnf differently there). Its lists stay out of the base's.
_LEGACY_OPENSSL = """set -e
lists=/tmp/bullseye-lists
mkdir -p $lists/partial /srv/lab-legacy
echo 'deb http://deb.debian.org/debian bullseye main' > /tmp/bullseye.list
o="-o Dir::Etc::sourcelist=/tmp/bullseye.list -o Dir::Etc::sourceparts=- -o Dir::State::Lists=$lists"
apt-get -q $o update
cd /srv/lab-legacy && apt-get -q $o download openssl/bullseye libssl1.1/bullseye
rm -rf $lists /tmp/bullseye.list"""

# Applied once to the base after the packages (shell, run in the chroot).
FINISH = (
    "rm -f /usr/sbin/policy-rc.d",
    # the kernel refuses audit to containers: auditd's start either fails or hangs until
    # its 90 s job timeout. Skip it in containers, as systemd-timesyncd does.
    "mkdir -p /etc/systemd/system/auditd.service.d && printf '[Unit]\\n"
    "ConditionVirtualization=!container\\n' > /etc/systemd/system/auditd.service.d/lab.conf",
    # no route out: freshclam could only fail (a failed unit on every host)
    "systemctl mask -q clamav-freshclam.service",
    # a package with an update waiting in a local "bookworm-security" repository, so a
    # drift can make a security update pending without a network (tests/lab/drift.py)
    _LAB_PACKAGES,
    _LEGACY_OPENSSL,
    "rm -f /etc/ssh/ssh_host_*",  # every host gets its own keys
    ": > /etc/machine-id",  # systemd makes a new one per boot
    "apt-get clean",
)
RECIPE_VERSION = 1


def recipe_digest() -> str:
    recipe = repr((RECIPE_VERSION, SUITE, MIRROR, DEBOOTSTRAP_INCLUDE, PACKAGES, FINISH))
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def base_path() -> Path:
    return CACHE_DIR / f"base-{recipe_digest()}"


def ensure_base(log: Path | None = None) -> Path:
    """The lab's base rootfs, building it first if the cache lacks this recipe's version."""
    return _ensure(base_path(), "base-", _build_lab, log or CACHE_DIR / "build.log")


def _build_lab(building: Path, logfile: IO[str]) -> None:
    _run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(DEBOOTSTRAP_INCLUDE)}",
            SUITE,
            str(building),
            MIRROR,
        ],
        logfile,
    )
    policy = building / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")  # no service starts inside the chroot
    policy.chmod(0o755)
    _run(
        [
            "chroot",
            str(building),
            "apt-get",
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            *PACKAGES,
        ],
        logfile,
        env={"DEBIAN_FRONTEND": "noninteractive", "PATH": _PATH},
    )
    for command in FINISH:
        _run(["chroot", str(building), "sh", "-c", command], logfile, env={"PATH": _PATH})


# The stock host: debootstrap's default variant (Priority required and important: systemd,
# cron, logrotate, nftables, iproute2, ...) plus openssh-server, as `debootstrap bookworm`
# and tasksel's "SSH server" leave a server. Only what a lab host cannot boot without is
# done afterwards: no shared host keys and a machine id made at first boot.
STOCK_INCLUDE = ("openssh-server",)
STOCK_FINISH = (
    "rm -f /etc/ssh/ssh_host_*",
    ": > /etc/machine-id",
    "apt-get clean",
)
STOCK_RECIPE_VERSION = 1


def stock_recipe_digest() -> str:
    recipe = repr((STOCK_RECIPE_VERSION, SUITE, MIRROR, STOCK_INCLUDE, STOCK_FINISH))
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def stock_base_path() -> Path:
    # not "base-*": building the lab's base removes every other base-* as stale
    return CACHE_DIR / f"stock-{stock_recipe_digest()}"


def ensure_stock_base(log: Path | None = None) -> Path:
    """The stock Debian 12 rootfs, building it first if the cache lacks this recipe's."""
    return _ensure(stock_base_path(), "stock-", _build_stock, log or CACHE_DIR / "build-stock.log")


def _build_stock(building: Path, logfile: IO[str]) -> None:
    _run(
        ["debootstrap", f"--include={','.join(STOCK_INCLUDE)}", SUITE, str(building), MIRROR],
        logfile,
    )
    for command in STOCK_FINISH:
        _run(["chroot", str(building), "sh", "-c", command], logfile, env={"PATH": _PATH})


class Base(StrEnum):
    """Which base root filesystem a lab host boots from."""

    LAB = "lab"  # the packages the checks and runbooks need (the clean profile's hosts)
    STOCK = "stock"  # Debian 12 as debootstrap leaves it, plus openssh-server

    def ensure(self) -> Path:
        return ensure_base() if self is Base.LAB else ensure_stock_base()


def _ensure(final: Path, prefix: str, build: Callable[[Path, IO[str]], None], log: Path) -> Path:
    """``final``, built by ``build`` unless complete; other ``prefix`` bases are dropped."""
    if (final / ".osiris-base-complete").exists():
        return final
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # one build at a time per base: parallel test sessions share the cache
    with (CACHE_DIR / f"{prefix}build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / ".osiris-base-complete").exists():
            return final  # another session built it while this one waited
        building = final.with_name(final.name + ".building")
        shutil.rmtree(building, ignore_errors=True)  # a killed earlier build
        with log.open("w") as logfile:
            try:
                build(building, logfile)
            except BaseException:
                shutil.rmtree(building, ignore_errors=True)
                raise
        (building / ".osiris-base-complete").write_text(final.name.removeprefix(prefix) + "\n")
        for stale in CACHE_DIR.glob(f"{prefix}*"):
            if stale.is_dir() and stale.name != final.name and not stale.name.endswith(".building"):
                shutil.rmtree(stale, ignore_errors=True)
        building.rename(final)
    return final


_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _run(argv: list[str], logfile: IO[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(argv, stdout=logfile, stderr=subprocess.STDOUT, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"lab base build failed: {' '.join(argv[:3])}... (see {logfile.name})")
