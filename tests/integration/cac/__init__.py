"""ComplianceAsCode's rule test scenarios, as states of a lab host and osiris's answer.

ComplianceAsCode (CaC) keeps, beside each rule, shell scenarios that put a host in a
state its check must pass (``*.pass.sh``) or fail (``*.fail.sh``). Each ``Scenario`` here
sets up the same state on a lab host with osiris's own shell (their scripts are theirs:
none is copied) and says which status osiris gives there. Where that is not CaC's
verdict, ``differs`` names the section of docs/cac-differences.md that says why osiris
answers otherwise. ``pending`` marks a state in which osiris answers wrongly today and
is reported to be fixed in the check: the scenario asserts the right answer and is an
expected failure until then.

Every scenario starts from the clean profile's host (tests/lab/drift.py: every check
passes), restored before each round of scenarios from a copy of the files they touch.
Scenario scripts run as root in ``sh`` with the helpers of ``PRELUDE``.
"""

from __future__ import annotations

from dataclasses import dataclass

# What each Linux check of the catalog corresponds to in CaC (linux_os/guide/...).
# An empty list: CaC has no rule with test scenarios for it on Debian.
CAC_RULES: dict[str, tuple[str, ...]] = {
    "lnx_ssh_hardening": (
        "sshd_disable_root_login",
        "sshd_disable_empty_passwords",
        "sshd_set_max_auth_tries",
    ),
    "lnx_ssh_crypto": ("sshd_use_strong_ciphers", "sshd_use_strong_macs", "sshd_use_strong_kex"),
    "lnx_session_timeout": (
        "accounts_tmout",
        "sshd_set_idle_timeout",
        "sshd_set_keepalive",
        "sshd_set_keepalive_0",
    ),
    "lnx_password_policy": (
        "accounts_password_pam_minlen",
        "accounts_password_pam_pwquality_enabled",
    ),
    "lnx_lockout": (
        "accounts_passwords_pam_faillock_deny",
        "accounts_passwords_pam_faillock_unlock_time",
    ),
    "lnx_privileged_accounts": (
        "accounts_no_uid_except_zero",
        "no_empty_passwords_etc_shadow",
        "sudo_remove_nopasswd",
    ),
    "lnx_file_permissions": (
        "file_permissions_etc_shadow",
        "file_owner_etc_shadow",
        "file_groupowner_etc_shadow",
        "file_permissions_etc_gshadow",
        "file_permissions_etc_passwd",
        "file_permissions_sshd_config",
    ),
    "lnx_inactive_accounts": ("account_disable_post_pw_expiration",),
    "lnx_kernel_network": (
        "sysctl_net_ipv4_ip_forward",
        "sysctl_net_ipv4_conf_all_accept_source_route",
        "sysctl_net_ipv4_conf_all_accept_redirects",
        "sysctl_net_ipv4_conf_default_accept_redirects",
        "sysctl_net_ipv4_conf_all_send_redirects",
        "sysctl_net_ipv6_conf_all_accept_redirects",
        "sysctl_net_ipv4_tcp_syncookies",
    ),
    "lnx_usb_storage": ("kernel_module_usb-storage_disabled",),
    "lnx_file_integrity": (
        "package_aide_installed",
        "aide_build_database",
        "aide_periodic_cron_checking",
    ),
    "lnx_firewall": ("nftables_ensure_default_deny_policy", "service_nftables_enabled"),
    "lnx_log_retention": ("rsyslog_remote_loghost",),
    "lnx_auto_updates": ("package_unattended-upgrades_installed",),
    "lnx_suid_files": ("file_permissions_unauthorized_suid",),
    "lnx_auditd": (
        "service_auditd_enabled",
        "audit_rules_usergroup_modification_shadow",
        "audit_rules_sysadmin_actions",
        "audit_rules_login_events_lastlog",
    ),
    "lnx_time_sync": ("service_chronyd_enabled", "chronyd_specify_remote_server"),
    "lnx_luks": ("encrypt_partitions",),
    "lnx_patch_level": ("security_patches_up_to_date",),
    "lnx_admin_accounts": (),
    "lnx_antimalware": (),
    "lnx_backup_recency": (),
    "lnx_cert_expiry": (),
    "lnx_disk_space": (),
    "lnx_failed_units": (),
    "lnx_tls_policy": (),
}


@dataclass(frozen=True)
class Scenario:
    name: str  # unique, for the test id
    check: str  # the osiris check whose status is asserted
    cac: str  # "RULE/SCENARIO.pass" or ".fail": the CaC scenario whose state this sets up
    script: str  # sh, as root, after the baseline is restored (PRELUDE's helpers)
    expect: str  # osiris's status in that state
    groups: frozenset[str]  # the files it touches: scenarios sharing one never share a round
    differs: str = ""  # docs/cac-differences.md section when expect is not CaC's verdict
    pending: str = ""  # osiris answers otherwise today: why, and who fixes it

    @property
    def rule(self) -> str:
        return self.cac.split("/")[0]

    @property
    def cac_verdict(self) -> str:
        return self.cac.rsplit(".", 1)[1]

    @property
    def agrees(self) -> bool:
        return self.expect == self.cac_verdict


def scenario(
    name: str,
    check: str,
    cac: str,
    script: str,
    expect: str,
    groups: str,
    differs: str = "",
    pending: str = "",
) -> Scenario:
    return Scenario(
        name, check, cac, script.strip(), expect, frozenset(groups.split()), differs, pending
    )


# Helpers every scenario script may use.
PRELUDE = r"""
# a directive gone from sshd_config and every drop-in (any case, as sshd reads it)
sshd_drop() {
  for k in "$@"; do
    for f in /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf; do
      [ -f "$f" ] && sed -i "/^[[:space:]]*$k[[:space:]]/Id" "$f"
    done
  done
  true
}
# lines appended to sshd_config (after its Include of sshd_config.d, so read after them)
sshd_main() { printf '%s\n' "$@" >> /etc/ssh/sshd_config; }
# lines in a drop-in: sshd_dropin NAME LINE...
sshd_dropin() { f=/etc/ssh/sshd_config.d/$1; shift; printf '%s\n' "$@" >> "$f"; }
# no TMOUT anywhere a login shell reads it
tmout_clear() {
  sed -i '/TMOUT/d' /etc/profile /etc/bash.bashrc
  grep -l TMOUT /etc/profile.d/*.sh 2>/dev/null | xargs -r rm -f
}
# a sysctl key gone from every file systemd-sysctl reads
sysctl_drop() {
  for f in /etc/sysctl.conf /etc/sysctl.d/*.conf /usr/lib/sysctl.d/*.conf; do
    [ -f "$f" ] && sed -i "/^[[:space:]]*$1[[:space:]]*=/d" "$f"
  done
  true
}
"""

# What the scenarios change, saved once from the clean host and restored before each
# round (directories are replaced whole, so files a scenario created go too).
RESTORED = (
    "/etc/ssh/sshd_config",
    "/etc/ssh/sshd_config.d",
    "/etc/ssh/extra",
    "/etc/profile",
    "/etc/profile.d",
    "/etc/bash.bashrc",
    "/etc/pam.d",
    "/etc/security",
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/default/useradd",
    "/etc/sysctl.conf",
    "/etc/sysctl.d",
    "/usr/lib/sysctl.d",
    "/run/sysctl.d",
    "/etc/modprobe.d",
    "/usr/lib/modprobe.d",
    "/run/modprobe.d",
    "/etc/modules-load.d",
    "/var/lib/aide",
    "/etc/crontab",
    "/etc/cron.d",
    "/etc/cron.daily",
    "/etc/systemd/system/timers.target.wants",
    "/etc/nftables.conf",
    "/etc/rsyslog.conf",
    "/etc/rsyslog.d",
    "/etc/logrotate.d",
)
BASELINE = "/root/cac-baseline.tar"
# runtime state the files above do not restore by themselves
RESTORE_RUNTIME = (
    "sysctl -q -p /etc/sysctl.d/60-lab.conf",
    "nft -f /etc/nftables.conf",
    "systemctl start cron",
)


def save_baseline() -> str:
    """Shell that saves the clean host's copy of ``RESTORED``."""
    return f"tar -cpf {BASELINE} --ignore-failed-read {' '.join(RESTORED)} 2>/dev/null; true"


def restore_baseline() -> str:
    return "\n".join(
        [f"rm -rf {' '.join(RESTORED)}", f"tar -xpf {BASELINE} -C /", *RESTORE_RUNTIME]
    )
