"""Drift: named misconfigurations applied to a live lab host over SSH.

A *drift* is a small shell snippet that changes the host the way an admin (or an
attacker) would; a *profile* is an ordered list of drifts. Profiles:

- ``clean``: the host passes every Linux check of the catalog: sshd hardened through a
  drop-in (root by key only, no passwords, MaxAuthTries 4) and sshd_config 0600;
  nftables with an input policy of drop (SSH allowed); pam_pwquality minlen 14;
  pam_faillock (deny 5, unlock after 900 s); usb-storage blocked; unattended upgrades on.
- ``drifted``: clean, then several checks broken at once: root may log in with a
  password, the firewall is flushed, /etc/shadow is world-readable, password length 8,
  no lockout, no automatic updates, USB storage allowed, a second UID 0 account.
- ``base``: the Debian defaults, untouched.

Tests can also apply any single drift by name with :func:`apply` (see ``DRIFTS``).
"""

from __future__ import annotations

import subprocess

from tests.lab.hosts import LabHost, ssh_argv

# What `systemctl reload ssh` does (sshd -t, then SIGHUP), without systemctl: in the lab's
# containers `systemctl reload` right after boot sometimes never returns (seen 2 in ~30).
# sshd re-executes on SIGHUP and refuses connections for a moment: wait until it listens.
_RELOAD_SSHD = (
    'sshd -t && kill -HUP "$(cat /run/sshd.pid 2>/dev/null || echo 1)" && sleep 0.2'
    " && until ss -Hltn 'sport = :22' | grep -q .; do sleep 0.05; done"
)

_NFTABLES_DROP = """cat > /etc/nftables.conf <<'NFT'
#!/usr/sbin/nft -f
flush ruleset
table inet filter {
  chain input {
    type filter hook input priority filter; policy drop;
    iif lo accept
    ct state established,related accept
    tcp dport 22 accept
    meta l4proto { icmp, ipv6-icmp } accept
  }
}
NFT
nft -f /etc/nftables.conf
if [ -d /run/systemd/system ]; then systemctl enable -q nftables; fi"""

_FAILLOCK_AUTH = """cat > /etc/pam.d/common-auth <<'PAM'
auth required pam_faillock.so preauth
auth [success=1 default=ignore] pam_unix.so nullok
auth [default=die] pam_faillock.so authfail
auth sufficient pam_faillock.so authsucc
auth requisite pam_deny.so
auth required pam_permit.so
PAM
printf 'deny = 5\\nunlock_time = 900\\n' > /etc/security/faillock.conf"""

_PLAIN_AUTH = """cat > /etc/pam.d/common-auth <<'PAM'
auth [success=1 default=ignore] pam_unix.so nullok
auth requisite pam_deny.so
auth required pam_permit.so
PAM"""

_SSH_DROPIN = "/etc/ssh/sshd_config.d/50-lab.conf"

DRIFTS: dict[str, str] = {
    # the clean state of each check
    "ssh_hardened": (
        "printf 'PermitRootLogin prohibit-password\\nPasswordAuthentication no\\n"
        f"PermitEmptyPasswords no\\nMaxAuthTries 4\\n' > {_SSH_DROPIN}"
        f" && chmod 600 /etc/ssh/sshd_config && {_RELOAD_SSHD}"
    ),
    "firewall_on": _NFTABLES_DROP,
    "pwquality_14": (
        "mkdir -p /etc/security/pwquality.conf.d"
        " && echo 'minlen = 14' > /etc/security/pwquality.conf.d/50-lab.conf"
    ),
    "lockout_on": _FAILLOCK_AUTH,
    "usb_blocked": "echo 'install usb-storage /bin/false' > /etc/modprobe.d/50-lab-usb.conf",
    "auto_updates_on": (
        'printf \'APT::Periodic::Update-Package-Lists "1";\\n'
        'APT::Periodic::Unattended-Upgrade "1";\\n\' > /etc/apt/apt.conf.d/20auto-upgrades'
    ),
    # drift: each breaks one check
    "ssh_root_password": (
        "printf 'PermitRootLogin yes\\nPasswordAuthentication yes\\nMaxAuthTries 4\\n'"
        f" > {_SSH_DROPIN} && {_RELOAD_SSHD}"
    ),
    "ssh_max_tries_10": (
        f"sed -i 's/^MaxAuthTries .*/MaxAuthTries 10/' {_SSH_DROPIN} && {_RELOAD_SSHD}"
    ),
    "firewall_off": "nft flush ruleset",
    "firewall_accept": (
        "nft flush ruleset && nft add table inet filter && nft add chain inet filter input"
        " '{ type filter hook input priority 0; policy accept; }'"
    ),
    "shadow_world_readable": "chmod 644 /etc/shadow",
    "sshd_config_readable": "chmod 644 /etc/ssh/sshd_config",
    "uid0_extra": "grep -q '^toor:' /etc/passwd || useradd -o -u 0 -g 0 -M -s /bin/sh toor",
    "empty_password": (
        "grep -q '^nopw:' /etc/passwd || useradd -M -s /bin/sh nopw; passwd -d nopw >/dev/null"
    ),
    "sudo_nopasswd": (
        "echo 'root ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/50-lab"
        " && chmod 440 /etc/sudoers.d/50-lab"
    ),
    "pwquality_8": "rm -f /etc/security/pwquality.conf.d/50-lab.conf",
    "pwquality_12": (
        "mkdir -p /etc/security/pwquality.conf.d"
        " && echo 'minlen = 12' > /etc/security/pwquality.conf.d/50-lab.conf"
    ),
    "pwquality_off": "sed -i '/pam_pwquality/d' /etc/pam.d/common-password",
    "lockout_off": _PLAIN_AUTH,
    "lockout_deny_8": "sed -i 's/^deny = .*/deny = 8/' /etc/security/faillock.conf",
    "auto_updates_off": (
        'sed -i \'s/Unattended-Upgrade "1"/Unattended-Upgrade "0"/\''
        " /etc/apt/apt.conf.d/20auto-upgrades"
    ),
    "auto_updates_no_lists": (
        'sed -i \'s/Update-Package-Lists "1"/Update-Package-Lists "0"/\''
        " /etc/apt/apt.conf.d/20auto-upgrades"
    ),
    "auto_updates_removed": "dpkg -r unattended-upgrades >/dev/null 2>&1",
    "usb_allowed": "rm -f /etc/modprobe.d/50-lab-usb.conf",
    "usb_blacklist_only": (
        "rm -f /etc/modprobe.d/50-lab-usb.conf"
        " && echo 'blacklist usb-storage' > /etc/modprobe.d/50-lab-usb.conf"
    ),
}

PROFILES: dict[str, tuple[str, ...]] = {
    "base": (),
    "clean": (
        "ssh_hardened",
        "firewall_on",
        "pwquality_14",
        "lockout_on",
        "usb_blocked",
        "auto_updates_on",
    ),
}
PROFILES["drifted"] = (
    *PROFILES["clean"],
    "ssh_root_password",
    "firewall_off",
    "shadow_world_readable",
    "pwquality_8",
    "lockout_off",
    "auto_updates_off",
    "usb_allowed",
    "uid0_extra",
)


def apply(host: LabHost | str, *drifts: str) -> None:
    """Apply drifts (by name) to a live host, in order, in one SSH session."""
    unknown = [d for d in drifts if d not in DRIFTS]
    if unknown:
        raise KeyError(f"unknown drift(s) {unknown}; known: {sorted(DRIFTS)}")
    if not drifts:
        return
    script = "set -ex\n" + "\n".join(DRIFTS[d] for d in drifts) + "\n"
    try:
        result = subprocess.run(
            ssh_argv(host, "sh", "-s"), input=script, capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired as exc:
        trace = (exc.stderr or b"").decode(errors="replace")[-800:]
        raise RuntimeError(f"drift {drifts} hung on {host}; last steps:\n{trace}") from None
    if result.returncode != 0:
        raise RuntimeError(f"drift {drifts} failed on {host}: {result.stderr.strip()}")


def apply_profile(host: LabHost | str, profile: str) -> None:
    if profile not in PROFILES:
        raise KeyError(f"unknown profile {profile!r}; known: {sorted(PROFILES)}")
    apply(host, *PROFILES[profile])
