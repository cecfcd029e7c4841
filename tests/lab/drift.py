"""Drift: named misconfigurations applied to a live lab host over SSH.

A *drift* is a small shell snippet that changes the host the way an admin (or an
attacker) would; a *profile* is an ordered list of drifts. Profiles:

- ``clean``: the host passes every Linux check of the catalog: sshd hardened through
  drop-ins (root by key only, no passwords, MaxAuthTries 4, strong ciphers and MACs) and
  sshd_config 0600; nftables with an input policy of drop (SSH allowed); pam_pwquality
  minlen 14; pam_faillock (deny 5, unlock after 900 s); usb-storage blocked; unattended
  upgrades on; TMOUT 900; 13 weekly log rotations; hardened network sysctls; clamd
  running; a fresh restic backup; an AIDE baseline, scheduled; fresh apt lists and
  Debian's security suite among APT's sources; audit rules for identity, sudoers and
  logins; the clock synchronised (on a VM host).
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

_SYSCTL_HARDENED = """cat > /etc/sysctl.d/60-lab.conf <<'SYSCTL'
net.ipv4.ip_forward = 0
net.ipv4.tcp_syncookies = 1
net.ipv4.conf.all.accept_redirects = 0
net.ipv4.conf.default.accept_redirects = 0
net.ipv4.conf.all.send_redirects = 0
net.ipv4.conf.default.send_redirects = 0
net.ipv4.conf.all.accept_source_route = 0
net.ipv6.conf.all.accept_redirects = 0
net.ipv6.conf.default.accept_redirects = 0
SYSCTL
sysctl -q -p /etc/sysctl.d/60-lab.conf"""

_STRONG_SSH_CRYPTO = (
    "printf 'Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,"
    "aes256-ctr,aes128-ctr\\nMACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
    "hmac-sha2-512,hmac-sha2-256\\n' > /etc/ssh/sshd_config.d/52-lab-crypto.conf"
)

_TMOUT = "printf 'readonly TMOUT=%s\\nexport TMOUT\\n' > /etc/profile.d/50-lab-tmout.sh"
_ROTATE = "sed -i 's/^\\([[:space:]]*\\)rotate [0-9]*/\\1rotate %s/' /etc/logrotate.d/rsyslog"
# the lab's hosts keep a persistent journal without a time limit (Debian's default):
# drifts that shorten retention shorten the journal's too, with journald's own setting
_JOURNALD = "mkdir -p /etc/systemd/journald.conf.d && printf '[Journal]\\n%s\\n' > /etc/systemd/journald.conf.d/50-lab.conf"
_JOURNAL_DAYS = _JOURNALD % "MaxRetentionSec=%sday"
# OpenSSL 3 refuses TLS < 1.2 unless the security level is 0: link a system default
# section that lowers it, as a legacy-compatibility edit would.
_TLS_LEGACY = """sed -i 's/^\\[openssl_init\\]/&\\nssl_conf = ssl_sect/' /etc/ssl/openssl.cnf
cat >> /etc/ssl/openssl.cnf <<'TLS'
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
CipherString = DEFAULT:@SECLEVEL=0
TLS"""

DRIFTS.update(
    {
        "session_timeout_on": _TMOUT % 900,
        "session_timeout_long": _TMOUT % 1500,
        "session_timeout_off": "rm -f /etc/profile.d/50-lab-tmout.sh",
        "log_retention_98": _ROTATE % 13,
        "log_retention_35": f"{_ROTATE % 4} && {_JOURNAL_DAYS % 35}",
        "log_retention_14": f"{_ROTATE % 1} && {_JOURNAL_DAYS % 14}",
        # journald only, as Debian 12 installs it: no rsyslog, nor its rotated files
        "journal_only": "dpkg -P rsyslog >/dev/null 2>&1",
        "journal_keeps_35": _JOURNAL_DAYS % 35,
        "journal_volatile": _JOURNALD % "Storage=volatile",
        # A stand-in for systemd-journal-upload (not in the lab's base): a unit of its name
        # that runs; the check asks systemd whether it is active, nothing more.
        "journal_uploaded": (
            "printf '[Service]\\nExecStart=/bin/sleep infinity\\n'"
            " > /etc/systemd/system/systemd-journal-upload.service && systemctl daemon-reload"
            " && systemctl start systemd-journal-upload.service"
        ),
        "log_forwarded": "echo '*.* @@10.251.0.1:514' > /etc/rsyslog.d/50-lab-forward.conf",
        "tls_legacy": _TLS_LEGACY,
        "suid_rogue": "cp /bin/dash /usr/local/bin/rootsh && chmod 4755 /usr/local/bin/rootsh",
        "sysctl_hardened": _SYSCTL_HARDENED,
        "sysctl_forwarding": "sysctl -q -w net.ipv4.ip_forward=1",
        "sysctl_redirects": "sysctl -q -w net.ipv4.conf.all.accept_redirects=1",
        "unit_failed": (
            "printf '[Service]\\nExecStart=/bin/false\\n' > /etc/systemd/system/lab-broken.service"
            " && systemctl daemon-reload && systemctl --no-block start lab-broken.service"
            " && until systemctl -q is-failed lab-broken.service; do sleep 0.1; done"
        ),
        "ssh_crypto_strong": f"{_STRONG_SSH_CRYPTO} && {_RELOAD_SSHD}",
        "ssh_crypto_default": f"rm -f /etc/ssh/sshd_config.d/52-lab-crypto.conf && {_RELOAD_SSHD}",
        "ssh_crypto_cbc": (
            "echo 'Ciphers aes256-ctr,aes128-cbc' > /etc/ssh/sshd_config.d/52-lab-crypto.conf"
            f" && {_RELOAD_SSHD}"
        ),
        "admin_unapproved": "useradd -m -s /bin/bash alice && usermod -aG sudo alice",
        "account_idle_100": (
            "useradd -m -s /bin/bash olduser && echo 'olduser:Old-pass-1234' | chpasswd"
            " && chage -d \"$(date -d '100 days ago' +%F)\" olduser"
        ),
        "account_idle_60": (
            "useradd -m -s /bin/bash idleuser && echo 'idleuser:Idle-pass-1234' | chpasswd"
            " && chage -d \"$(date -d '60 days ago' +%F)\" idleuser"
        ),
    }
)

_SYSTEMD = "[ -d /run/systemd/system ]"

# A tiny ClamAV database (the EICAR test file's MD5) stands in for freshclam's, which
# cannot be fetched without a route out; clamd is the real one. Debian's unit insists on
# main.c[vl]d: the drop-in clears that condition.
_CLAMAV_ON = f"""echo '44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature' > /var/lib/clamav/lab.hdb
if {_SYSTEMD}; then
  mkdir -p /etc/systemd/system/clamav-daemon.service.d
  printf '[Unit]\\nConditionPathExistsGlob=\\n' > /etc/systemd/system/clamav-daemon.service.d/lab.conf
  systemctl daemon-reload
  systemctl --no-block start clamav-daemon.service
  until systemctl -q is-active clamav-daemon.service; do sleep 0.1; done
else
  mkdir -p /run/clamav && chown clamav /run/clamav && clamd
fi"""

_RESTIC = """mkdir -p /etc/restic /srv/backup
[ -f /etc/restic/password ] || { head -c 24 /dev/urandom | base64 > /etc/restic/password; }
printf 'RESTIC_REPOSITORY=/srv/backup\\nRESTIC_PASSWORD_FILE=/etc/restic/password\\n' > /etc/restic/env
chmod 600 /etc/restic/env /etc/restic/password
export RESTIC_REPOSITORY=/srv/backup RESTIC_PASSWORD_FILE=/etc/restic/password
[ -f /srv/backup/config ] || restic init -q
restic backup -q --host lab /etc/hostname"""

_AIDE = """mkdir -p /etc/aide /var/lib/aide
printf 'database_in=file:/var/lib/aide/aide.db\\ndatabase_out=file:/var/lib/aide/aide.db.new\\n/etc/ssh R\\n' > /etc/aide/lab.conf
aide --init -c /etc/aide/lab.conf >/dev/null
mv /var/lib/aide/aide.db.new /var/lib/aide/aide.db"""

_CERT_EXPIRED = """d=$(mktemp -d) && cd "$d" && mkdir newcerts && touch index.txt && echo 01 > serial
printf '[ca]\\ndefault_ca = c\\n[c]\\ndir = .\\ndatabase = index.txt\\nnew_certs_dir = newcerts\\nserial = serial\\ndefault_md = sha256\\npolicy = p\\n[p]\\ncommonName = supplied\\n' > ca.cnf
openssl req -new -newkey rsa:2048 -nodes -keyout key.pem -subj /CN=lab-expired -out req.csr 2>/dev/null
openssl ca -batch -config ca.cnf -selfsign -keyfile key.pem -in req.csr -startdate 20200101000000Z -enddate 20210101000000Z -out /etc/ssl/certs/lab-expired.pem 2>/dev/null
cd / && rm -rf "$d\""""

_LAB_SECURITY_SOURCE = "/etc/apt/sources.list.d/lab-security.list"

DRIFTS.update(
    {
        "antimalware_on": _CLAMAV_ON,
        "antimalware_off": (
            f"if {_SYSTEMD}; then systemctl stop clamav-daemon.service; else pkill -x clamd; fi"
        ),
        "antimalware_aging": "touch -d '2 days ago' /var/lib/clamav/lab.hdb",
        "antimalware_stale": "touch -d '5 days ago' /var/lib/clamav/lab.hdb",
        "backup_recent": _RESTIC,
        "backup_3_days": "rm -rf /srv/backup\n"
        + _RESTIC.replace(
            "restic backup -q", "restic backup -q --time \"$(date -d '3 days ago' '+%F %T')\""
        ),
        "backup_10_days": "rm -rf /srv/backup\n"
        + _RESTIC.replace(
            "restic backup -q", "restic backup -q --time \"$(date -d '10 days ago' '+%F %T')\""
        ),
        "backup_removed": "rm -f /etc/restic/env",
        "aide_on": f"{_AIDE}\nif {_SYSTEMD}; then systemctl enable -q dailyaidecheck.timer; fi",
        "aide_no_database": "rm -f /var/lib/aide/aide.db",
        "aide_unscheduled": f"if {_SYSTEMD}; then systemctl disable -q dailyaidecheck.timer; fi",
        "aide_removed": "dpkg -r aide-common aide >/dev/null",
        "cert_expiring": (
            "openssl req -x509 -newkey rsa:2048 -nodes -keyout /etc/ssl/private/lab.key"
            " -out /etc/ssl/certs/lab-expiring.pem -days 10 -subj /CN=lab 2>/dev/null"
        ),
        "cert_expired": _CERT_EXPIRED,
        "apt_lists_fresh": "touch /var/lib/apt/lists/*Release /var/lib/apt/lists/*Packages",
        # Debian's security suite among APT's sources, as the installer writes it
        # (debootstrap does not); the lab has no route to it and fetches no lists from it
        "apt_security_source": (
            "echo 'deb http://deb.debian.org/debian-security bookworm-security main'"
            " > /etc/apt/sources.list.d/debian-security.list"
        ),
        "apt_no_security_source": "rm -f /etc/apt/sources.list.d/debian-security.list",
        "apt_lists_stale": (
            "touch -d '30 days ago' /var/lib/apt/lists/*Release /var/lib/apt/lists/*Packages"
        ),
        "security_update_pending": (
            f"echo 'deb [trusted=yes] file:/srv/lab-security ./' > {_LAB_SECURITY_SOURCE}"
            f" && apt-get update -qq -o Dir::Etc::sourcelist={_LAB_SECURITY_SOURCE}"
            " -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0"
        ),
        "reboot_pending": "touch /var/run/reboot-required",
        # tools a check needs, taken away (the checks then say na, or fail where the
        # absence is the risk)
        "openssl_removed": "mv /usr/bin/openssl /usr/bin/openssl.lab-removed",
        # back on OpenSSL 1.1 (Debian 11's packages and openssl.cnf: MinProtocol TLSv1.2)
        "openssl_1_1": (
            "dpkg -i --force-downgrade /srv/lab-legacy/*.deb >/dev/null 2>&1"
            " && openssl version | grep -q '^OpenSSL 1.1'"
        ),
        # ... and the minimum taken out, as for a legacy device
        "tls_no_min_protocol": "sed -i '/^MinProtocol/d' /etc/ssl/openssl.cnf",
        # SSH served by Dropbear (as on many appliances), with the same host key: no sshd
        "ssh_by_dropbear": (
            "mkdir -p /etc/dropbear && dropbearconvert openssh dropbear"
            " /etc/ssh/ssh_host_ed25519_key /etc/dropbear/lab_ed25519 2>/dev/null"
            " && systemctl stop ssh.service"
            " && mv /usr/sbin/sshd /usr/sbin/sshd.lab-removed"
            " && systemd-run -q --unit lab-dropbear dropbear -F -s -p 22 -r /etc/dropbear/lab_ed25519"
            " && until ss -Hltn 'sport = :22' | grep -q .; do sleep 0.05; done"
        ),
        "apt_tools_removed": (
            "mv /usr/bin/apt-config /usr/bin/apt-config.lab-removed"
            " && mv /usr/bin/apt-get /usr/bin/apt-get.lab-removed"
        ),
    }
)

# States checks used to judge wrongly (tests/integration/test_linux_checks.py shows each)
DRIFTS.update(
    {
        # bash's typeset is declare: a read-only TMOUT of 15 minutes in /etc/profile
        "tmout_typeset": (
            "rm -f /etc/profile.d/50-lab-tmout.sh && echo 'typeset -xr TMOUT=900' >> /etc/profile"
        ),
        # A stand-in for Debian 12's polkitd (not in the lab's base): a set-user-ID file at
        # the path its package installs, /usr/lib/polkit-1/polkit-agent-helper-1.
        "suid_polkit_helper": (
            "mkdir -p /usr/lib/polkit-1 && cp /bin/true /usr/lib/polkit-1/polkit-agent-helper-1"
            " && chmod 4755 /usr/lib/polkit-1/polkit-agent-helper-1"
        ),
        # an account that is not root, reached with the lab's key (a scan without become)
        "scan_user": (
            "id labscan >/dev/null 2>&1 || useradd -m -s /bin/sh labscan"
            " && mkdir -p /home/labscan/.ssh && cp /root/.ssh/authorized_keys /home/labscan/.ssh/"
            " && chown -R labscan: /home/labscan/.ssh && chmod 700 /home/labscan/.ssh"
        ),
        # a process named clamd in a pid namespace of its own, as in a container on the host
        # (a renamed sleep: only its name and namespace matter)
        "clamd_in_a_container": (
            "mkdir -p /run/lab-container && cp /bin/sleep /run/lab-container/clamd"
            " && setsid -f unshare --pid --fork --mount-proc /run/lab-container/clamd infinity"
            " </dev/null >/dev/null 2>&1"
            " && until pgrep -x clamd >/dev/null; do sleep 0.05; done"
        ),
    }
)

# Drifts the runbook tests (tests/integration/test_linux_runbooks.py) need besides the
# ones above: each makes its check fail in a way a runbook must undo.
DRIFTS.update(
    {
        # a read-only TMOUT of an hour in another profile.d file: fail, and it would win
        "session_timeout_hour": _TMOUT % 3600,
        # daily rotation, 7 kept: about 8 days of logs (and of journal)
        "log_retention_daily": (
            "sed -i 's/^\\([[:space:]]*\\)weekly/\\1daily/' /etc/logrotate.d/rsyslog && "
            + _ROTATE % 7
            + " && "
            + _JOURNAL_DAYS % 8
        ),
        # source routing accepted (a fail that IP forwarding is not part of)
        "sysctl_source_route": "sysctl -q -w net.ipv4.conf.all.accept_source_route=1",
    }
)

# Competing settings: the host's own configuration read before (or instead of) what a
# runbook writes, so a runbook that only adds its file changes nothing effective.
_SSH_COMPETING = f"""printf 'PermitRootLogin yes\\nPasswordAuthentication yes\\nMaxAuthTries 10\\n' \\
  > /etc/ssh/sshd_config.d/10-vendor.conf
sed -i '1i PermitEmptyPasswords=yes' /etc/ssh/sshd_config
printf 'Match User root\\n  PermitRootLogin yes\\n  PasswordAuthentication yes\\n' >> /etc/ssh/sshd_config
{_RELOAD_SSHD}"""
DRIFTS.update(
    {
        # an earlier drop-in, a line above sshd_config's Include and a Match block for root
        "ssh_competing": _SSH_COMPETING,
        # a sysctl.d file sorting after osiris's (letters sort after digits), with keys
        # written both ways sysctl.d allows, and a line in /etc/sysctl.conf; applied now
        "sysctl_competing": (
            "printf 'net.ipv4.conf.all.accept_source_route = 1\\n"
            "net/ipv4/conf/all/accept_redirects=1\\n' > /etc/sysctl.d/zz-vendor.conf"
            " && echo 'net.ipv4.conf.default.accept_redirects = 1' >> /etc/sysctl.conf"
            " && sysctl -q -p /etc/sysctl.d/zz-vendor.conf && sysctl -q -p /etc/sysctl.conf"
        ),
        # an earlier drop-in with a CBC cipher and a 96-bit MAC, and SHA-1 key exchange
        # added above sshd_config's Include
        "ssh_crypto_competing": (
            "printf 'Ciphers aes128-ctr,aes256-cbc\\nMACs hmac-sha2-256,hmac-sha1-96\\n'"
            " > /etc/ssh/sshd_config.d/01-vendor-crypto.conf"
            " && sed -i '1i KexAlgorithms +diffie-hellman-group1-sha1' /etc/ssh/sshd_config"
            f" && {_RELOAD_SSHD}"
        ),
        # A lab stand-in, not a drift: a container does not see its kernel's module tree
        # (lnx_usb_storage cannot judge it there) and the VM hosts' cloud kernel has no
        # usb-storage; this lists it as built in, as a kernel with USB support would.
        "usb_module_tree": (
            'mkdir -p "/lib/modules/$(uname -r)" && echo kernel/drivers/usb/storage/usb-storage.ko'
            ' > "/lib/modules/$(uname -r)/modules.builtin"'
        ),
        # a vendor's rule that loads usb-storage, read before osiris's (digits sort first)
        "usb_competing": (
            "echo 'install usb-storage /sbin/modprobe --ignore-install usb-storage'"
            " > /etc/modprobe.d/00-vendor-usb.conf"
        ),
        # a file read after 20auto-upgrades turning upgrades off, and apt.conf (read last)
        # turning every periodic run off
        "auto_updates_competing": (
            "echo 'APT::Periodic::Unattended-Upgrade \"0\";' > /etc/apt/apt.conf.d/99zz-vendor"
            " && echo 'APT::Periodic::Enable \"0\";' >> /etc/apt/apt.conf"
        ),
        # a read-only TMOUT of an hour at the top of /etc/profile, bash's typeset spelling,
        # and a profile.d file that makes TMOUT read-only on a line of its own
        "session_timeout_competing": (
            "sed -i '1i typeset -xr TMOUT=3600' /etc/profile"
            " && printf 'TMOUT=7200\\nreadonly TMOUT\\nexport TMOUT\\n'"
            " > /etc/profile.d/00-vendor-tmout.sh"
        ),
        # a later line of faillock.conf (the last value counts) that turns locking off
        "lockout_competing": "echo 'deny = 0' >> /etc/security/faillock.conf",
        # locked until an administrator unlocks: stricter than any time, a fix keeps it
        "lockout_unlock_never": "echo 'unlock_time = never' >> /etc/security/faillock.conf",
        # pwquality only warns: the minimum length is a suggestion
        "pwquality_competing": (
            "mkdir -p /etc/security/pwquality.conf.d"
            " && echo 'enforcing = 0' > /etc/security/pwquality.conf.d/60-vendor.conf"
        ),
        # A lab stand-in, not a drift: the base has no cracklib dictionary, so pwquality's
        # dictionary check would refuse every password; off, the length decides.
        "pwquality_no_dictionary": (
            "mkdir -p /etc/security/pwquality.conf.d"
            " && echo 'dictcheck = 0' > /etc/security/pwquality.conf.d/40-lab-nodict.conf"
        ),
        # journald alone keeps the logs (no rsyslog files, as on a stock Debian 12), with a
        # drop-in read last that keeps them in memory for a week, and a short limit in
        # journald.conf
        "log_journal_only": "rm -f /etc/logrotate.d/rsyslog",
        "journal_competing": (
            "mkdir -p /etc/systemd/journald.conf.d"
            " && printf '[Journal]\\nStorage=volatile\\nMaxRetentionSec=1week\\n'"
            " > /etc/systemd/journald.conf.d/zzz-vendor.conf"
            " && echo 'MaxRetentionSec=2d' >> /etc/systemd/journald.conf"
            " && systemctl restart systemd-journald"
        ),
        "sysctl_forwarding_competing": (
            "echo 'net.ipv4.ip_forward=1' > /etc/sysctl.d/zz-router.conf"
            " && sysctl -q -p /etc/sysctl.d/zz-router.conf"
        ),
    }
)

_AUDIT_RULES = """cat > /etc/audit/rules.d/50-lab.rules <<'RULES'
-w /etc/passwd -p wa -k identity
-w /etc/shadow -p wa -k identity
-w /etc/group -p wa -k identity
-w /etc/sudoers -p wa -k privilege
-w /etc/sudoers.d -p wa -k privilege
-w /var/log/lastlog -p wa -k logins
-w /var/run/faillock -p wa -k logins
RULES
if systemctl -q is-active auditd; then augenrules --load >/dev/null; fi"""
# Setting the clock by hand marks it unsynchronised (the kernel sets STA_UNSYNC), as
# after a reboot without a time source.
_CLOCK_SET_BY_HAND = 'date -s "@$(date +%s.%N)" >/dev/null'

# Drifts of what only a VM host owns (tests/lab/vm.py): kernel audit, the clock, disks.
# On a container the audit rules are written but not loaded, and the clock is not waited
# for: the checks say na there.
DRIFTS.update(
    {
        "audit_rules_on": _AUDIT_RULES,
        "audit_rules_missing": "rm -f /etc/audit/rules.d/50-lab.rules && auditctl -D >/dev/null",
        # auditd refuses `systemctl stop` (RefuseManualStop): kill it, as an intruder would
        "auditd_stopped": (
            "pkill -x auditd; while systemctl -q is-active auditd; do sleep 0.1; done"
        ),
        "time_synced": (
            "if systemctl -q is-active chrony; then chronyc -n waitsync 120 0.1 0 0.5 >/dev/null;"
            " fi"
        ),
        "time_unsynced": f"systemctl disable -q --now chrony && {_CLOCK_SET_BY_HAND}",
        # the time server's port is wrong: chrony runs and never synchronises
        "time_source_lost": (
            "sed -i 's/ iburst/ port 9 iburst/' /etc/chrony/sources.d/lab.sources"
            f" && systemctl restart chrony && {_CLOCK_SET_BY_HAND}"
        ),
        # a LUKS data volume, opened: encrypted data beside a plain root file system
        "crypt_data_volume": (
            "modprobe dm_crypt && head -c 32 /dev/urandom > /root/vault.key"
            " && chmod 600 /root/vault.key"
            " && truncate -s 32M /srv/vault.img"
            " && cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2"
            " --pbkdf-force-iterations 1000 --key-file /root/vault.key /srv/vault.img"
            " && cryptsetup open --key-file /root/vault.key /srv/vault.img vault"
        ),
    }
)

# Checks of what a container does not own (disks, clock, kernel audit): on container
# hosts they are ``na`` whatever the drift; VM hosts show their other statuses.
CONTAINER_BOUND_CHECKS = frozenset({"lnx_luks", "lnx_time_sync", "lnx_auditd"})

PROFILES: dict[str, tuple[str, ...]] = {
    "base": (),
    "clean": (
        "ssh_hardened",
        "firewall_on",
        "pwquality_14",
        "lockout_on",
        "usb_blocked",
        "auto_updates_on",
        "session_timeout_on",
        "log_retention_98",
        "sysctl_hardened",
        "ssh_crypto_strong",
        "antimalware_on",
        "backup_recent",
        "aide_on",
        "apt_lists_fresh",
        "apt_security_source",
        "audit_rules_on",
        "time_synced",
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
