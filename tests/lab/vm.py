"""VM hosts: the lab's Debian under qemu, with a kernel, disks and clock of its own.

A container shares this machine's kernel, so three checks cannot judge it: disk
encryption (``lnx_luks``), time synchronisation (``lnx_time_sync``) and kernel audit
(``lnx_auditd``). A VM host can be judged by them:

- its root file system sits on LUKS (``Kind.VM``) or on a plain disk (``Kind.VM_PLAIN``);
  the initramfs opens LUKS with a key it carries, the lab's stand-in for a passphrase
  typed at the console (never ship a key in an initramfs);
- chrony in the guest synchronises to a real chronyd on this machine's end of the
  host's link (``-x``: it serves time and never touches this machine's clock);
- auditd runs on the guest's own kernel.

qemu runs under TCG (software emulation): ``/dev/kvm`` exists on this kind of machine but
nested KVM fails (``failed to set MSR 0x10a``). A guest boots in about 20 s.

The image (kernel, initramfs, root file system, and its LUKS copy) is built once from
the lab base and cached beside it. Each host boots a qcow2 overlay of it, so the image
stays untouched, plus a small per-host *seed* disk (host key, client key, address, time
source) that a unit copies into place early in boot. Its tap device is named like the
other hosts' veths, so cleanup finds it; qemu's command line names the lab directory,
and chronyd shares its process group.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import IO

from tests.lab import network
from tests.lab.base import recipe_digest
from tests.lab.hosts import Kind, LabHost, prepare
from tests.lab.paths import CACHE_DIR, host_side_address, lab_address

KERNEL_PACKAGES = ("linux-image-cloud-amd64", "initramfs-tools")
IMAGE_SIZE_MB = 2048
LUKS_HEADER_MB = 16
MEMORY_MB = 1024
ROOT_LABEL = "osiris-root"
SEED_LABEL = "osiris-seed"
_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Files of the VM image, beyond the base (path -> (mode, text)).
_INITRAMFS_HOOK = """#!/bin/sh
# Puts cryptsetup, dm-crypt and the lab's root key into the initramfs.
case "$1" in prereqs) exit 0 ;; esac
. /usr/share/initramfs-tools/hook-functions
copy_exec /sbin/cryptsetup /sbin
copy_file key /etc/osiris-lab/root.key
manual_add_modules dm_crypt xts aesni_intel virtio_blk
"""
_INITRAMFS_UNLOCK = """#!/bin/sh
# Opens the root disk when it is LUKS; a plain disk is left as it is.
case "$1" in prereqs) exit 0 ;; esac
modprobe -q virtio_blk; modprobe -q dm_crypt
tries=0
while [ ! -b /dev/vda ] && [ "$tries" -lt 100 ]; do sleep 0.1; tries=$((tries + 1)); done
if cryptsetup isLuks /dev/vda; then
  cryptsetup open --key-file /etc/osiris-lab/root.key /dev/vda root_crypt
fi
"""
_SEED_UNIT = """[Unit]
Description=Lab seed: this host's keys, address and time source
DefaultDependencies=no
Requires=dev-vdb.device
After=dev-vdb.device local-fs.target
Before=sysinit.target systemd-networkd.service ssh.service chrony.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/osiris-lab-seed

[Install]
WantedBy=sysinit.target
"""
_SEED_SCRIPT = f"""#!/bin/sh
set -e
mkdir -p /run/osiris-seed
mount -o ro LABEL={SEED_LABEL} /run/osiris-seed
cp -a /run/osiris-seed/files/. /
umount /run/osiris-seed
"""
IMAGE_FILES: dict[str, tuple[int, str]] = {
    "etc/fstab": (0o644, f"LABEL={ROOT_LABEL} / ext4 rw,errors=remount-ro 0 1\n"),
    "etc/initramfs-tools/hooks/osiris-lab-luks": (0o755, _INITRAMFS_HOOK),
    "etc/initramfs-tools/scripts/local-top/osiris-lab-luks": (0o755, _INITRAMFS_UNLOCK),
    "etc/systemd/system/osiris-lab-seed.service": (0o644, _SEED_UNIT),
    "usr/local/sbin/osiris-lab-seed": (0o755, _SEED_SCRIPT),
}
# Run in the image's chroot after the kernel is installed.
IMAGE_FINISH = (
    # the base has no route out and neither has a VM: its only source is the lab's
    "sed -i '/^pool /d' /etc/chrony/chrony.conf",
    "systemctl enable -q systemd-networkd osiris-lab-seed.service",
    "systemctl mask -q systemd-networkd-wait-online.service",
    "update-initramfs -u -k all",
    "apt-get clean",
)
IMAGE_RECIPE_VERSION = 1


def image_digest() -> str:
    recipe = (IMAGE_RECIPE_VERSION, recipe_digest(), KERNEL_PACKAGES, IMAGE_FILES, IMAGE_FINISH)
    return hashlib.sha256(repr(recipe).encode()).hexdigest()[:16]


def image_dir() -> Path:
    return CACHE_DIR / f"vm-{image_digest()}"


def ensure_image(base: Path) -> Path:
    """The cached VM image directory (kernel, initrd, root.img, root-luks.img)."""
    final = image_dir()
    if (final / ".osiris-image-complete").exists():
        return final
    building = final.with_name(final.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    try:
        with (building / "build.log").open("w") as log:
            _build(base, building, log)
    except BaseException:
        shutil.copy(building / "build.log", CACHE_DIR / "vm-build.log")
        shutil.rmtree(building, ignore_errors=True)
        raise
    (building / ".osiris-image-complete").write_text(image_digest() + "\n")
    for stale in CACHE_DIR.glob("vm-*"):
        if stale.is_dir() and stale.name != final.name and not stale.name.endswith(".building"):
            shutil.rmtree(stale, ignore_errors=True)
    building.rename(final)
    return final


def _build(base: Path, out: Path, log: IO[str]) -> None:
    upper = out / "up"
    for relative, (mode, text) in IMAGE_FILES.items():
        path = upper / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
    key = upper / "etc/osiris-lab/root.key"
    key.parent.mkdir(parents=True, mode=0o700)
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    (out / "root.key").write_bytes(key.read_bytes())
    # the image is assembled in an overlay on the base, in a private mount namespace
    root, work = out / "root", out / "work"
    root.mkdir()
    work.mkdir()
    install = " ".join(KERNEL_PACKAGES)
    finish = " && ".join(IMAGE_FINISH)
    options = f"lowerdir={base},upperdir={upper},workdir={work}"
    script = f"""set -e
mount -t overlay overlay -o "$OPTIONS" "$ROOT"
chroot "$ROOT" sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends {install}'
chroot "$ROOT" sh -c "$FINISH"
cp "$ROOT"/boot/vmlinuz-* "$OUT/vmlinuz"
cp "$ROOT"/boot/initrd.img-* "$OUT/initrd.img"
mkfs.ext4 -q -F -L {ROOT_LABEL} -d "$ROOT" "$OUT/root.img" {IMAGE_SIZE_MB}M
"""
    env = {
        "DEBIAN_FRONTEND": "noninteractive",
        "PATH": _PATH,
        "OPTIONS": options,
        "ROOT": str(root),
        "OUT": str(out),
        "FINISH": finish,
    }
    _run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], log, env)
    shutil.rmtree(upper)
    shutil.rmtree(work)
    shutil.rmtree(root)
    _encrypt_copy(out / "root.img", out / "root-luks.img", out / "root.key", log)


def _encrypt_copy(plain: Path, encrypted: Path, key: Path, log: IO[str]) -> None:
    """A LUKS2 copy of the plain image, encrypted offline (no device-mapper needed here).

    The copy is grown by the header's size first: ``--reduce-device-size`` shifts the
    data to make room for the header at the start. PBKDF2 with few iterations keeps the
    unlock fast under emulation; the key is random, so the KDF's cost adds nothing.
    """
    subprocess.run(["cp", "--sparse=always", str(plain), str(encrypted)], check=True)
    with encrypted.open("r+b") as handle:
        handle.truncate((IMAGE_SIZE_MB + LUKS_HEADER_MB) * 1024 * 1024)
    argv = [
        "cryptsetup",
        "reencrypt",
        "--encrypt",
        "--type",
        "luks2",
        "--reduce-device-size",
        f"{LUKS_HEADER_MB}M",
        "--pbkdf",
        "pbkdf2",
        "--pbkdf-force-iterations",
        "1000",
        "--key-file",
        str(key),
        "--batch-mode",
        str(encrypted),
    ]
    _run(argv, log)


def _run(argv: list[str], log: IO[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"lab VM image build failed: {argv[0]} (see {CACHE_DIR}/vm-build.log)")


def _seed(directory: Path, slot: int) -> Path:
    """The host's seed disk: files copied over the image's at boot."""
    files = directory / "seed/files"
    upper = directory / "up"  # prepare() wrote the host key and authorized_keys here
    shutil.copytree(upper, files)
    (files / "etc/systemd/network").mkdir(parents=True)
    (files / "etc/systemd/network/50-lab.network").write_text(
        f"[Match]\nName=en* eth*\n\n[Network]\nAddress={lab_address(slot)}/30\n"
    )
    (files / "etc/chrony/sources.d").mkdir(parents=True)
    (files / "etc/chrony/sources.d/lab.sources").write_text(
        f"server {host_side_address(slot)} iburst minpoll -1 maxpoll 2\n"
    )
    image = directory / "seed.img"
    subprocess.run(
        ["mkfs.ext4", "-q", "-F", "-L", SEED_LABEL, "-d", f"{directory}/seed", str(image), "8M"],
        check=True,
        capture_output=True,
    )
    return image


def _time_server(directory: Path, base: Path, slot: int) -> str:
    """Shell that starts chronyd from the base, in an overlay, serving this host's link."""
    upper = directory / "ntp-up"
    (upper / "etc/chrony").mkdir(parents=True)
    (directory / "ntp-work").mkdir()
    (directory / "ntp-root").mkdir()
    (upper / "etc/chrony/lab-server.conf").write_text(
        f"bindaddress {host_side_address(slot)}\nallow {lab_address(slot)}\n"
        "local stratum 8\ncmdport 0\npidfile /run/lab-ntp.pid\n"
    )
    q = shlex.quote
    options = f"lowerdir={base},upperdir={upper},workdir={directory / 'ntp-work'}"
    root = q(str(directory / "ntp-root"))
    return (
        f"mount -t overlay overlay -o {q(options)} {root}"
        f" && chroot {root} /usr/sbin/chronyd -x -d -f /etc/chrony/lab-server.conf &"
    )


def boot(name: str, kind: Kind, slot: int, base: Path, log: Path) -> LabHost:
    """Start a VM host in the background; it is not ready until ``wait_ready``."""
    image = ensure_image(base)
    directory, host_key = prepare(name, base)
    seed = _seed(directory, slot)
    disk = directory / "disk.qcow2"
    backing = image / ("root-luks.img" if kind is Kind.VM else "root.img")
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(backing), str(disk)],
        check=True,
    )
    tap = network.create_tap(slot)
    mac = f"52:54:00:0f:{slot // 256:02x}:{slot % 256:02x}"
    root_device = "/dev/mapper/root_crypt" if kind is Kind.VM else "/dev/vda"
    qemu = [
        "qemu-system-x86_64",
        *("-accel", "tcg", "-cpu", "max", "-smp", "1", "-m", str(MEMORY_MB)),
        *("-display", "none", "-no-reboot", "-nodefaults"),
        *("-serial", f"file:{directory / 'console.log'}"),
        *("-kernel", str(image / "vmlinuz"), "-initrd", str(image / "initrd.img")),
        "-append",
        f"root={root_device} ro console=ttyS0 systemd.hostname={name} quiet",
        *("-drive", f"file={disk},if=virtio,format=qcow2"),
        *("-drive", f"file={seed},if=virtio,format=raw,readonly=on"),
        *("-netdev", f"tap,id=lab,ifname={tap},script=no,downscript=no"),
        *("-device", f"virtio-net-pci,netdev=lab,mac={mac}"),
    ]
    inner = f"{_time_server(directory, base, slot)}\nexec {shlex.join(qemu)}"
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", inner]
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )
    return LabHost(name, kind, slot, lab_address(slot), "", process.pid, host_key)
