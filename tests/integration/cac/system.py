"""CaC's system scenarios: network sysctls, usb-storage, AIDE, the firewall, log forwarding.

The clean host has the hardened network sysctls in /etc/sysctl.d/60-lab.conf (applied),
`install usb-storage /bin/false` in /etc/modprobe.d, an AIDE baseline checked by
dailyaidecheck.timer, nftables dropping inbound traffic by default (input chain only),
and rsyslog rotating 13 weeks of logs. A ``RULE/check.pass`` or ``.fail`` reference
names a rule without test scenarios: the state is one its own check tells apart.
"""

from __future__ import annotations

from tests.integration.cac import Scenario, scenario

_K = "lnx_kernel_network"


def _runtime(rule: str, key: str, wrong: str, expect: str, differs: str = "") -> Scenario:
    """CaC's sysctl template, wrong_runtime: the files say the right value, the kernel not."""
    return scenario(
        f"{rule.removeprefix('sysctl_')}_wrong_at_runtime",
        _K,
        f"{rule}/wrong_runtime.fail",
        f"sysctl -q -w {key}={wrong}",
        expect,
        "sysctl",
        differs=differs,
    )


_FWD = "sysctl_net_ipv4_ip_forward"
_APPLY_AS_AT_BOOT = (
    "{ sysctl -q --system >/dev/null 2>&1 || true; }"  # kernel.* keys are read-only here
)
_NO_FWD = "sysctl_drop net.ipv4.ip_forward"


def _fwd(value: str, path: str, prefix: str = "") -> str:
    return f"echo '{prefix}net.ipv4.ip_forward = {value}' > {path}"


SYSCTL = [
    _runtime(_FWD, "net.ipv4.ip_forward", "1", "fail"),
    _runtime(
        "sysctl_net_ipv4_conf_all_accept_source_route",
        "net.ipv4.conf.all.accept_source_route",
        "1",
        "fail",
    ),
    _runtime(
        "sysctl_net_ipv4_conf_all_accept_redirects",
        "net.ipv4.conf.all.accept_redirects",
        "1",
        "warning",
        "graded",
    ),
    _runtime(
        "sysctl_net_ipv4_conf_default_accept_redirects",
        "net.ipv4.conf.default.accept_redirects",
        "1",
        "warning",
        "graded",
    ),
    _runtime(
        "sysctl_net_ipv4_conf_all_send_redirects",
        "net.ipv4.conf.all.send_redirects",
        "1",
        "warning",
        "graded",
    ),
    _runtime(
        "sysctl_net_ipv6_conf_all_accept_redirects",
        "net.ipv6.conf.all.accept_redirects",
        "1",
        "warning",
        "graded",
    ),
    _runtime("sysctl_net_ipv4_tcp_syncookies", "net.ipv4.tcp_syncookies", "0", "warning", "graded"),
    scenario(
        "ip_forward_correct",
        _K,
        f"{_FWD}/correct_value.pass",
        "sysctl -q -p /etc/sysctl.d/60-lab.conf",
        "pass",
        "sysctl",
    ),
    scenario(
        "ip_forward_wrong_in_file_and_kernel",
        _K,
        f"{_FWD}/wrong_value.fail",
        f"{_NO_FWD}; {_fwd('1', '/etc/sysctl.d/70-fwd.conf')}; {_APPLY_AS_AT_BOOT}",
        "fail",
        "sysctl",
    ),
    scenario(
        "ip_forward_line_not_there",
        _K,
        f"{_FWD}/line_not_there.fail",
        f"{_NO_FWD}; sysctl -q -w net.ipv4.ip_forward=0",
        "pass",
        "sysctl",
        differs="sysctl-runtime",
    ),
    scenario(
        "ip_forward_commented",
        _K,
        f"{_FWD}/comment.fail",
        f"{_NO_FWD}; {_fwd('0', '/etc/sysctl.d/70-fwd.conf', prefix='# ')}",
        "pass",
        "sysctl",
        differs="sysctl-runtime",
    ),
    scenario(
        "ip_forward_conflicting_files_kernel_right",
        _K,
        f"{_FWD}/two_sysctls_on_d_conflicting.fail",
        f"{_NO_FWD}; {_fwd('0', '/etc/sysctl.d/first.conf')};"
        f" {_fwd('1', '/etc/sysctl.d/second.conf')}",
        "pass",
        "sysctl",
        differs="sysctl-runtime",
    ),
    scenario(
        "ip_forward_conflicting_files_applied_as_at_boot",
        _K,
        f"{_FWD}/two_sysctls_on_d_conflicting.fail",
        f"{_NO_FWD}; {_fwd('0', '/etc/sysctl.d/first.conf')};"
        f" {_fwd('1', '/etc/sysctl.d/second.conf')}; {_APPLY_AS_AT_BOOT}",
        "fail",
        "sysctl",
    ),
    scenario(
        "ip_forward_wrong_in_usr_lib_right_in_etc",
        _K,
        f"{_FWD}/wrong_usr_lib_correct_etc.pass",
        f"{_NO_FWD}; {_fwd('1', '/usr/lib/sysctl.d/01-first.conf')};"
        f" {_fwd('0', '/etc/sysctl.d/50-second.conf')}; {_APPLY_AS_AT_BOOT}",
        "pass",
        "sysctl",
    ),
    scenario(
        "accept_redirects_line_not_there",
        _K,
        "sysctl_net_ipv4_conf_all_accept_redirects/line_not_there.fail",
        "sysctl_drop net.ipv4.conf.all.accept_redirects",
        "pass",
        "sysctl",
        differs="sysctl-runtime",
    ),
]

_U = "lnx_usb_storage"
_USB = "kernel_module_usb-storage_disabled"
_NO_RULE = "rm -f /etc/modprobe.d/50-lab-usb.conf"
USB = [
    scenario(
        "usb_install_true_in_etc",
        _U,
        f"{_USB}/correct_value_modprobe_d.pass",
        f"{_NO_RULE}; echo 'install usb-storage /bin/true' > /etc/modprobe.d/usb-storage.conf",
        "pass",
        "modprobe",
    ),
    scenario(
        "usb_install_in_usr_lib",
        _U,
        f"{_USB}/correct_value_usr_lib_modprobe_d.pass",
        f"{_NO_RULE}; echo 'install usb-storage /bin/true' > /usr/lib/modprobe.d/usb-storage.conf",
        "pass",
        "modprobe",
    ),
    scenario(
        "usb_install_in_run",
        _U,
        f"{_USB}/correct_value_run_modprobe_d.pass",
        f"{_NO_RULE}; mkdir -p /run/modprobe.d;"
        " echo 'install usb-storage /bin/true' > /run/modprobe.d/usb-storage.conf",
        "pass",
        "modprobe",
    ),
    scenario(
        "usb_listed_in_modules_load_but_refused",
        _U,
        f"{_USB}/have_etc_modules-load_d.fail",
        "echo usb-storage > /etc/modules-load.d/usb-storage.conf",
        "pass",
        "modprobe",
        differs="modules-load",
    ),
    scenario(
        "usb_no_rule",
        _U,
        f"{_USB}/file_not_there.fail",
        _NO_RULE,
        "na",
        "modprobe",
        differs="container-modules",
    ),
    scenario(
        "usb_rule_commented",
        _U,
        f"{_USB}/comment.fail",
        f"{_NO_RULE}; echo '#install usb-storage /bin/true' > /etc/modprobe.d/usb-storage.conf",
        "na",
        "modprobe",
        differs="container-modules",
    ),
    scenario(
        "usb_install_loads_it_anyway",
        _U,
        f"{_USB}/wrong_value.fail",
        f"{_NO_RULE}; echo 'install usb-storage /sbin/modprobe --ignore-install usb-storage'"
        " > /etc/modprobe.d/usb-storage.conf",
        "na",
        "modprobe",
        differs="container-modules",
    ),
]

_I = "lnx_file_integrity"
_NO_TIMER = "rm -f /etc/systemd/system/timers.target.wants/dailyaidecheck.timer"
_CRON = "aide_periodic_cron_checking"
AIDE = [
    scenario(
        "aide_database_present",
        _I,
        "aide_build_database/new_db_not_present.pass",
        "rm -f /var/lib/aide/aide.db.new; test -s /var/lib/aide/aide.db",
        "pass",
        "aide",
    ),
    scenario(
        "aide_database_missing",
        _I,
        "aide_build_database/db_not_present.fail",
        "rm -f /var/lib/aide/aide.db",
        "warning",
        "aide",
        differs="graded",
    ),
    scenario(
        "aide_in_crontab_daily",
        _I,
        f"{_CRON}/crontab_daily.pass",
        f"{_NO_TIMER}; echo '0 5 * * * root /usr/bin/aide --check' >> /etc/crontab",
        "pass",
        "aide",
    ),
    scenario(
        "aide_in_crontab_weekly_word",
        _I,
        f"{_CRON}/crontab_weekly_word.pass",
        f"{_NO_TIMER}; echo '@weekly root /usr/bin/aide --check' >> /etc/crontab",
        "pass",
        "aide",
    ),
    scenario(
        "aide_in_crontab_two_days_a_week",
        _I,
        f"{_CRON}/crontab_two_days_week.pass",
        f"{_NO_TIMER}; echo '21 21 * * 1-2 root /usr/bin/aide --check >/dev/null' >> /etc/crontab",
        "pass",
        "aide",
    ),
    scenario(
        "aide_in_cron_daily",
        _I,
        f"{_CRON}/cron_daily.pass",
        f"{_NO_TIMER}; printf '#!/bin/sh\\n/usr/bin/aide --check\\n' > /etc/cron.daily/aide;"
        " chmod 755 /etc/cron.daily/aide",
        "pass",
        "aide",
    ),
    scenario(
        "aide_in_cron_daily_behind_nice",
        _I,
        f"{_CRON}/cron_daily_complex.pass",
        f"{_NO_TIMER}; printf '#!/bin/sh\\nexec nice -n 10 ionice -c3 /usr/bin/aide -C\\n'"
        " > /etc/cron.daily/aide; chmod 755 /etc/cron.daily/aide",
        "pass",
        "aide",
    ),
    scenario(
        "aide_by_a_timer_of_its_own",
        _I,
        f"{_CRON}/not_in_cron.fail",
        f"{_NO_TIMER}; printf '[Service]\\nType=oneshot\\nExecStart=/usr/bin/aide --check\\n'"
        " > /etc/systemd/system/lab-aide.service;"
        " printf '[Timer]\\nOnCalendar=weekly\\n[Install]\\nWantedBy=timers.target\\n'"
        " > /etc/systemd/system/lab-aide.timer; systemctl daemon-reload;"
        " systemctl enable -q lab-aide.timer",
        "pass",
        "aide",
        differs="aide-schedule",
    ),
    scenario(
        "aide_crontab_line_commented",
        _I,
        f"{_CRON}/not_in_cron.fail",
        f"{_NO_TIMER}; echo '#0 5 * * * root /usr/bin/aide --check' >> /etc/crontab",
        "warning",
        "aide",
        differs="graded",
    ),
    scenario(
        "aide_in_crontab_cron_stopped",
        _I,
        f"{_CRON}/crontab_daily.pass",
        f"{_NO_TIMER}; echo '0 5 * * * root /usr/bin/aide --check' >> /etc/crontab;"
        " systemctl stop cron",
        "warning",
        "aide",
        differs="cron-stopped",
    ),
    scenario(
        "aide_in_crontab_monthly",
        _I,
        f"{_CRON}/crontab_monthly.fail",
        f"{_NO_TIMER}; echo '0 5 1 * * root /usr/bin/aide --check' >> /etc/crontab",
        "pass",
        "aide",
        differs="aide-schedule",
    ),
    scenario(
        "aide_not_scheduled",
        _I,
        f"{_CRON}/not_in_cron.fail",
        _NO_TIMER,
        "warning",
        "aide",
        differs="graded",
    ),
]

_W = "lnx_firewall"
_DENY = "nftables_ensure_default_deny_policy"
_ALL_DROP = """cat > /etc/nftables.conf <<'NFT'
flush ruleset
table inet filter {
  chain input { type filter hook input priority filter; policy drop;
    iif lo accept; ct state established,related accept; tcp dport 22 accept; }
  chain forward { type filter hook forward priority filter; policy drop; }
  chain output { type filter hook output priority filter; policy drop;
    oif lo accept; ct state established,related accept; }
}
NFT
nft -f /etc/nftables.conf"""
FIREWALL = [
    scenario("nft_drop_in_every_chain", _W, f"{_DENY}/check.pass", _ALL_DROP, "pass", "firewall"),
    scenario(
        "nft_drop_inbound_only",
        _W,
        f"{_DENY}/check.fail",
        "nft list chain inet filter input | grep -q 'policy drop'",
        "pass",
        "firewall",
        differs="inbound-only",
    ),
    scenario(
        "nft_input_policy_accept",
        _W,
        f"{_DENY}/check.fail",
        "nft chain inet filter input '{ policy accept; }'",
        "warning",
        "firewall",
        differs="graded",
    ),
    scenario(
        "nft_no_ruleset",
        _W,
        "service_nftables_enabled/check.fail",
        "nft flush ruleset",
        "fail",
        "firewall",
    ),
]

_G = "lnx_log_retention"
_REMOTE = "rsyslog_remote_loghost"
# two weeks of rsyslog files, and of journal (the lab's journal is persistent and unlimited)
_TWO_WEEKS = (
    "sed -i 's/^\\([[:space:]]*\\)rotate [0-9]*/\\1rotate 1/' /etc/logrotate.d/rsyslog"
    " && mkdir -p /etc/systemd/journald.conf.d"
    " && printf '[Journal]\\nMaxRetentionSec=14day\\n' > /etc/systemd/journald.conf.d/50-cac.conf"
)
_HOST = "logs.example.invalid"  # never contacted: rsyslog is not restarted
LOGS = [
    scenario(
        "rsyslog_forwards_over_tcp",
        _G,
        f"{_REMOTE}/remote_configured.pass",
        f"{_TWO_WEEKS}; echo '*.* @@{_HOST}:514' > /etc/rsyslog.d/50-remote.conf",
        "pass",
        "logs",
    ),
    scenario(
        "rsyslog_forwards_with_omfwd",
        _G,
        f"{_REMOTE}/remote_configured_rainer.pass",
        f'{_TWO_WEEKS}; echo \'*.* action(type="omfwd" target="{_HOST}" port="514"'
        ' protocol="tcp")\' > /etc/rsyslog.d/50-remote.conf',
        "pass",
        "logs",
    ),
    scenario(
        "rsyslog_forwards_with_omfwd_on_lines",
        _G,
        f"{_REMOTE}/remote_configured_rainer_multiline.pass",
        f'{_TWO_WEEKS}; printf \'*.* action(type="omfwd"\\n  target="{_HOST}"\\n'
        '  port="514" protocol="tcp")\\n\' > /etc/rsyslog.d/50-remote.conf',
        "pass",
        "logs",
    ),
    scenario(
        "rsyslog_forwarding_commented",
        _G,
        f"{_REMOTE}/line_commented.fail",
        f"{_TWO_WEEKS}; echo '#*.* @@{_HOST}:514' > /etc/rsyslog.d/50-remote.conf",
        "fail",
        "logs",
    ),
    scenario(
        "rsyslog_not_forwarding", _G, f"{_REMOTE}/line_not_there.fail", _TWO_WEEKS, "fail", "logs"
    ),
]

SCENARIOS = [*SYSCTL, *USB, *AIDE, *FIREWALL, *LOGS]
