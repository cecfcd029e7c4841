"""CaC's account scenarios: password quality, lockout, UID 0, empty passwords, sudo,
the modes of the account files, and the inactivity default.

The clean host has pam_pwquality in common-password (Debian's pam-auth-update line) with
minlen 14 in /etc/security/pwquality.conf.d/50-lab.conf; pam_faillock's preauth,
authfail and authsucc lines in common-auth with deny 5 and unlock_time 900 in
/etc/security/faillock.conf; root the only UID 0 account; no NOPASSWD rule.
libpwquality reads pwquality.conf, then pwquality.conf.d/*.conf, the last value winning;
a module argument wins over both (pam_faillock likewise over faillock.conf).
"""

from __future__ import annotations

from tests.integration.cac import scenario

_PW = "lnx_password_policy"
_MINLEN = "accounts_password_pam_minlen"
_ENABLED = "accounts_password_pam_pwquality_enabled"
_MINLEN_ONLY = (
    "rm -f /etc/security/pwquality.conf.d/*.conf; sed -i '/minlen/d' /etc/security/pwquality.conf"
)

PASSWORD = [
    scenario(
        "minlen_in_pwquality_conf",
        _PW,
        f"{_MINLEN}/correct.pass",
        f"{_MINLEN_ONLY}; echo 'minlen = 14' >> /etc/security/pwquality.conf",
        "pass",
        "pam-password",
    ),
    scenario(
        "minlen_missing", _PW, f"{_MINLEN}/missing.fail", _MINLEN_ONLY, "fail", "pam-password"
    ),
    scenario(
        "minlen_commented",
        _PW,
        f"{_MINLEN}/commented.fail",
        f"{_MINLEN_ONLY}; echo '# minlen = 14' >> /etc/security/pwquality.conf",
        "fail",
        "pam-password",
    ),
    scenario(
        "minlen_short",
        _PW,
        f"{_MINLEN}/short.fail",
        f"{_MINLEN_ONLY}; echo 'minlen = 8' >> /etc/security/pwquality.conf",
        "fail",
        "pam-password",
    ),
    scenario(
        "minlen_twelve",
        _PW,
        f"{_MINLEN}/wrong_value.fail",
        f"{_MINLEN_ONLY}; echo 'minlen = 12' >> /etc/security/pwquality.conf",
        "warning",
        "pam-password",
        differs="graded",
    ),
    scenario(
        "minlen_conflict_in_file_last_wins",
        _PW,
        f"{_MINLEN}/conflicting_values.fail",
        f"{_MINLEN_ONLY}; printf 'minlen = 14\\nminlen = 8\\n' >> /etc/security/pwquality.conf",
        "fail",
        "pam-password",
    ),
    scenario(
        "minlen_conflict_in_directory",
        _PW,
        f"{_MINLEN}/conflicting_values_directory.fail",
        f"{_MINLEN_ONLY}; echo 'minlen = 14' >> /etc/security/pwquality.conf;"
        " echo 'minlen = 8' > /etc/security/pwquality.conf.d/test_file.conf",
        "fail",
        "pam-password",
    ),
    scenario(
        "minlen_module_argument_over_file",
        _PW,
        f"{_MINLEN}/short.fail",
        f"{_MINLEN_ONLY}; echo 'minlen = 8' >> /etc/security/pwquality.conf;"
        " sed -i 's/pam_pwquality.so.*/& minlen=14/' /etc/pam.d/common-password",
        "pass",
        "pam-password",
        differs="effective-pam",
    ),
    scenario(
        "pwquality_missing",
        _PW,
        f"{_ENABLED}/missing.fail",
        "sed -i '/pam_pwquality/d' /etc/pam.d/common-password",
        "fail",
        "pam-password",
    ),
    scenario(
        "pwquality_commented_after_control",
        _PW,
        f"{_ENABLED}/commented.fail",
        "sed -i 's/^\\(password[[:space:]]*requisite[[:space:]]*\\)\\(pam_pwquality\\)/\\1# \\2/'"
        " /etc/pam.d/common-password && grep -q '# pam_pwquality' /etc/pam.d/common-password",
        "fail",
        "pam-password",
    ),
]

_L = "lnx_lockout"
_DENY = "accounts_passwords_pam_faillock_deny"
_UNLOCK = "accounts_passwords_pam_faillock_unlock_time"
_CONF = "/etc/security/faillock.conf"


def _faillock(conf: str) -> str:
    return f"printf '{conf}\\n' > {_CONF}"


LOCKOUT = [
    scenario(
        "faillock_settings_in_conf",
        _L,
        f"{_DENY}/pam_faillock_expected_faillock_conf.pass",
        _faillock("deny = 5\\nunlock_time = 900"),
        "pass",
        "pam-auth",
    ),
    scenario(
        "faillock_settings_as_module_arguments",
        _L,
        f"{_DENY}/pam_faillock_expected_pam_files.pass",
        f": > {_CONF}; sed -i 's/pam_faillock.so \\(preauth\\|authfail\\)/&"
        " deny=5 unlock_time=900/' /etc/pam.d/common-auth",
        "pass",
        "pam-auth",
    ),
    scenario(
        "faillock_deny_stricter",
        _L,
        f"{_DENY}/pam_faillock_stricter_faillock_conf.pass",
        _faillock("deny = 3\\nunlock_time = 900"),
        "pass",
        "pam-auth",
    ),
    scenario(
        "faillock_deny_eight",
        _L,
        f"{_DENY}/pam_faillock_lenient_faillock_conf.fail",
        _faillock("deny = 8\\nunlock_time = 900"),
        "warning",
        "pam-auth",
        differs="graded",
    ),
    scenario(
        "faillock_deny_twelve",
        _L,
        f"{_DENY}/ubuntu_wrong_value.fail",
        _faillock("deny = 12\\nunlock_time = 900"),
        "fail",
        "pam-auth",
    ),
    scenario(
        "faillock_deny_zero",
        _L,
        f"{_DENY}/remediable_deny_zero.fail",
        _faillock("deny = 0\\nunlock_time = 900"),
        "fail",
        "pam-auth",
    ),
    scenario(
        "faillock_conf_but_not_in_pam",
        _L,
        f"{_DENY}/ubuntu_missing_pamd.fail",
        "sed -i '/pam_faillock/d' /etc/pam.d/common-auth",
        "fail",
        "pam-auth",
    ),
    scenario(
        "faillock_deny_commented_default_three",
        _L,
        f"{_DENY}/ubuntu_commented_values.fail",
        _faillock("#deny = 5\\nunlock_time = 900"),
        "pass",
        "pam-auth",
        differs="pam-faillock-defaults",
    ),
    scenario(
        "faillock_not_required",
        _L,
        f"{_DENY}/pam_faillock_not_required_pam_files.fail",
        "sed -i 's/^auth[[:space:]].*\\(pam_faillock.so\\)/auth sufficient \\1/'"
        " /etc/pam.d/common-auth",
        "fail",
        "pam-auth",
    ),
    scenario(
        "faillock_unlock_ten_minutes",
        _L,
        f"{_UNLOCK}/var_default_and_config_600.fail",
        _faillock("deny = 5\\nunlock_time = 600"),
        "warning",
        "pam-auth",
        differs="graded",
    ),
    scenario(
        "faillock_unlock_by_admin_only",
        _L,
        f"{_UNLOCK}/var_default_and_config_0.pass",
        _faillock("deny = 5\\nunlock_time = 0"),
        "pass",
        "pam-auth",
    ),
    scenario(
        "faillock_unlock_never",
        _L,
        f"{_UNLOCK}/var_1800_and_config_never.pass",
        _faillock("deny = 5\\nunlock_time = never"),
        "pass",
        "pam-auth",
    ),
    scenario(
        "faillock_unlock_longer",
        _L,
        f"{_UNLOCK}/var_1800_and_config_3600.pass",
        _faillock("deny = 5\\nunlock_time = 3600"),
        "pass",
        "pam-auth",
    ),
]

_A = "lnx_privileged_accounts"
_F = "lnx_file_permissions"
ACCOUNTS = [
    scenario(
        "uid0_only_root",
        _A,
        "accounts_no_uid_except_zero/only_root.pass",
        "awk -F: '$3 == 0' /etc/passwd | grep -qx 'root:.*'",
        "pass",
        "accounts",
    ),
    scenario(
        "uid0_other_user",
        _A,
        "accounts_no_uid_except_zero/other_user_uid_0.fail",
        "useradd -o -u 0 -g 0 -M -s /bin/sh toor",
        "fail",
        "accounts",
    ),
    scenario(
        "uid0_other_user_locked",
        _A,
        "accounts_no_uid_except_zero/locked_user_uid_0.pass",
        "useradd -o -u 0 -g 0 -M -s /bin/sh rootlocked"
        " && echo 'rootlocked:Lab-pass-1234' | chpasswd && passwd -q -l rootlocked",
        "fail",
        "accounts",
        differs="uid0-locked",
    ),
    scenario(
        "empty_password_present",
        _A,
        "no_empty_passwords_etc_shadow/an_empty_pass_present.fail",
        "useradd -M -s /bin/sh nopw && passwd -q -d nopw",
        "fail",
        "accounts",
    ),
    scenario(
        "no_empty_password",
        _A,
        "no_empty_passwords_etc_shadow/no_empty_password_present.pass",
        "useradd -M -s /bin/sh haspw && echo 'haspw:Lab-pass-1234' | chpasswd",
        "pass",
        "accounts",
    ),
    scenario(
        "sudo_all_with_password",
        _A,
        "sudo_remove_nopasswd/correct_value.pass",
        "echo '%sudo ALL=(ALL) ALL' > /etc/sudoers.d/lab && chmod 440 /etc/sudoers.d/lab",
        "pass",
        "accounts",
    ),
    scenario(
        "sudo_nopasswd_in_include_dir",
        _A,
        "sudo_remove_nopasswd/wrong_value_include_dir.fail",
        "echo '%sudo ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/lab && chmod 440 /etc/sudoers.d/lab",
        "warning",
        "accounts",
        differs="graded",
    ),
    scenario(
        "sudo_nopasswd_for_one_command",
        _A,
        "sudo_remove_nopasswd/wrong_value_specific_commands.fail",
        "echo '%sudo ALL=(ALL) NOPASSWD: /usr/bin/systemctl' > /etc/sudoers.d/lab"
        " && chmod 440 /etc/sudoers.d/lab",
        "warning",
        "accounts",
        differs="graded",
    ),
    scenario(
        "shadow_root_shadow_0640",
        _F,
        "file_permissions_etc_shadow/correct_permissions.pass",
        "chown root:shadow /etc/shadow && chmod 0640 /etc/shadow",
        "pass",
        "accounts",
    ),
    scenario(
        "shadow_0000",
        _F,
        "file_permissions_etc_shadow/stricter_permisions.pass",
        "chmod 0000 /etc/shadow",
        "pass",
        "accounts",
    ),
    scenario(
        "shadow_world_readable",
        _F,
        "file_permissions_etc_shadow/lenient_permissions.fail",
        "chmod 0644 /etc/shadow",
        "fail",
        "accounts",
    ),
    scenario(
        "shadow_owned_by_nobody",
        _F,
        "file_owner_etc_shadow/incorrect_owner.fail",
        "chown nobody /etc/shadow",
        "fail",
        "accounts",
    ),
    scenario(
        "shadow_group_users",
        _F,
        "file_groupowner_etc_shadow/incorrect_groupowner.fail",
        "chgrp users /etc/shadow && chmod 0640 /etc/shadow",
        "fail",
        "accounts",
    ),
    scenario(
        "shadow_group_users_no_group_access",
        _F,
        "file_groupowner_etc_shadow/incorrect_groupowner.fail",
        "chgrp users /etc/shadow && chmod 0600 /etc/shadow",
        "pass",
        "accounts",
        differs="group-without-access",
    ),
    scenario(
        "gshadow_world_readable",
        _F,
        "file_permissions_etc_gshadow/lenient_permissions.fail",
        "chmod 0644 /etc/gshadow",
        "fail",
        "accounts",
    ),
    scenario(
        "passwd_world_writable",
        _F,
        "file_permissions_etc_passwd/lenient_permissions.fail",
        "chmod 0666 /etc/passwd",
        "fail",
        "accounts",
    ),
    scenario(
        "passwd_owner_only",
        _F,
        "file_permissions_etc_passwd/stricter_permisions.pass",
        "chmod 0600 /etc/passwd",
        "pass",
        "accounts",
    ),
    scenario(
        "inactive_default_never",
        "lnx_inactive_accounts",
        "account_disable_post_pw_expiration/disabled.fail",
        "sed -i '/^INACTIVE=/d' /etc/default/useradd && echo 'INACTIVE=-1' >> /etc/default/useradd",
        "pass",
        "accounts",
        differs="inactive-accounts",
    ),
    scenario(
        "inactive_default_thirty_days",
        "lnx_inactive_accounts",
        "account_disable_post_pw_expiration/correct_value.pass",
        "sed -i '/^INACTIVE=/d' /etc/default/useradd && echo 'INACTIVE=30' >> /etc/default/useradd",
        "pass",
        "accounts",
    ),
]

SCENARIOS = [*PASSWORD, *LOCKOUT, *ACCOUNTS]
