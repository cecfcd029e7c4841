"""CaC's sshd scenarios: root login, empty passwords, MaxAuthTries, ciphers, MACs, KEX.

CaC's sshd rules share one template (shared/templates/sshd_lineinfile/tests): the value
in the main file or a drop-in, duplicated, commented, missing, and the same directive
twice with different values (in one file, in two drop-ins, in a drop-in and the main
file). sshd takes the first value it reads, and Debian's sshd_config includes
sshd_config.d/*.conf on its first lines; osiris reads `sshd -T`, the values sshd uses.
Scenarios of different directives share a round (groups sshd-hardening, sshd-crypto,
sshd-mode, and sshd-idle in session.py); one that opens a Match block takes them all.
The clean host sets PermitRootLogin prohibit-password, PasswordAuthentication no,
PermitEmptyPasswords no and MaxAuthTries 4 in 50-lab.conf, strong Ciphers and MACs in
52-lab-crypto.conf.
"""

from __future__ import annotations

from tests.integration.cac import scenario

_ROOT = "sshd_disable_root_login"
_EMPTY = "sshd_disable_empty_passwords"
_TRIES = "sshd_set_max_auth_tries"
_H = "lnx_ssh_hardening"
_C = "lnx_ssh_crypto"
_P = "lnx_file_permissions"
_WHOLE_FILE = "sshd-hardening sshd-crypto sshd-mode sshd-idle"
_PASSWORDS_ON = "sshd_drop PasswordAuthentication; sshd_main 'PasswordAuthentication yes'"

HARDENING = [
    scenario(
        "root_login_line_not_there",
        _H,
        f"{_ROOT}/line_not_there.fail",
        "sshd_drop PermitRootLogin",
        "pass",
        "sshd-hardening",
        differs="root-login-by-key",
    ),
    scenario(
        "root_login_commented",
        _H,
        f"{_ROOT}/comment.fail",
        "sshd_drop PermitRootLogin; sshd_main '#PermitRootLogin no'",
        "pass",
        "sshd-hardening",
        differs="root-login-by-key",
    ),
    scenario(
        "root_login_prohibit_password",
        _H,
        f"{_ROOT}/wrong_value.fail",
        "sshd_drop PermitRootLogin; sshd_dropin 10-root.conf 'PermitRootLogin prohibit-password'",
        "pass",
        "sshd-hardening",
        differs="root-login-by-key",
    ),
    scenario(
        "root_login_no_in_main_file",
        _H,
        f"{_ROOT}/correct_value.pass",
        "sshd_drop PermitRootLogin; sshd_main 'PermitRootLogin no'",
        "pass",
        "sshd-hardening",
    ),
    scenario(
        "root_login_no_in_dropin",
        _H,
        f"{_ROOT}/correct_value_directory.pass",
        "sshd_drop PermitRootLogin; sshd_dropin 10-root.conf 'PermitRootLogin no'",
        "pass",
        "sshd-hardening",
    ),
    scenario(
        "root_login_no_in_two_dropins",
        _H,
        f"{_ROOT}/duplicated_param_directory.pass",
        "sshd_drop PermitRootLogin; sshd_dropin 10-a.conf 'PermitRootLogin no';"
        " sshd_dropin 20-b.conf 'PermitRootLogin no'",
        "pass",
        "sshd-hardening",
    ),
    scenario(
        "root_password_login_by_relative_include",
        _H,
        f"{_ROOT}/wrong_value_including_relative_path.fail",
        "sshd_drop PermitRootLogin; mkdir -p /etc/ssh/extra;"
        " echo 'PermitRootLogin yes' > /etc/ssh/extra/root.conf; sshd_main 'Include extra/*.conf';"
        f" {_PASSWORDS_ON}",
        "fail",
        "sshd-hardening",
    ),
    scenario(
        "root_password_login_in_main_file",
        _H,
        f"{_ROOT}/wrong_value.fail",
        f"sshd_drop PermitRootLogin; sshd_main 'PermitRootLogin yes'; {_PASSWORDS_ON}",
        "fail",
        "sshd-hardening",
    ),
    scenario(
        "root_login_yes_with_keys_only",
        _H,
        f"{_ROOT}/wrong_value_directory.fail",
        "sshd_drop PermitRootLogin; sshd_dropin 10-root.conf 'PermitRootLogin yes'",
        "warning",
        "sshd-hardening",
        differs="graded",
    ),
    scenario(
        "root_login_conflict_in_dropins",
        _H,
        f"{_ROOT}/param_conflict_directory.fail",
        "sshd_drop PermitRootLogin; sshd_dropin 10-bad.conf 'PermitRootLogin yes';"
        f" sshd_dropin 90-good.conf 'PermitRootLogin no'; {_PASSWORDS_ON}",
        "fail",
        "sshd-hardening",
    ),
    scenario(
        "root_login_conflict_good_first_in_main_file",
        _H,
        f"{_ROOT}/param_conflict.fail",
        "sshd_drop PermitRootLogin; sshd_main 'PermitRootLogin no' 'PermitRootLogin yes';"
        f" {_PASSWORDS_ON}",
        "pass",
        "sshd-hardening",
        differs="first-value-wins",
    ),
    scenario(
        "root_login_main_file_against_dropin",
        _H,
        f"{_ROOT}/param_conflict_file_with_directory.fail",
        "sshd_drop PermitRootLogin; sshd_main 'PermitRootLogin no';"
        f" sshd_dropin 10-bad.conf 'PermitRootLogin yes'; {_PASSWORDS_ON}",
        "fail",
        "sshd-hardening",
    ),
    scenario(
        "empty_passwords_line_not_there",
        _H,
        f"{_EMPTY}/line_not_there.pass",
        "sshd_drop PermitEmptyPasswords",
        "pass",
        "sshd-hardening",
    ),
    scenario(
        "empty_passwords_commented",
        _H,
        f"{_EMPTY}/comment.pass",
        "sshd_drop PermitEmptyPasswords; sshd_main '#PermitEmptyPasswords yes'",
        "pass",
        "sshd-hardening",
    ),
    scenario(
        "empty_passwords_yes",
        _H,
        f"{_EMPTY}/wrong_value.fail",
        "sshd_drop PermitEmptyPasswords; sshd_dropin 10-empty.conf 'PermitEmptyPasswords yes'",
        "fail",
        "sshd-hardening",
    ),
    scenario(
        "empty_passwords_conflict_in_dropins",
        _H,
        f"{_EMPTY}/param_conflict_directory.fail",
        "sshd_drop PermitEmptyPasswords; sshd_dropin 10-a.conf 'PermitEmptyPasswords yes';"
        " sshd_dropin 20-b.conf 'PermitEmptyPasswords no'",
        "fail",
        "sshd-hardening",
    ),
    scenario(
        "max_auth_tries_line_not_there",
        _H,
        f"{_TRIES}/line_not_there.fail",
        "sshd_drop MaxAuthTries",
        "warning",
        "sshd-hardening",
        differs="graded",
    ),
    scenario(
        "max_auth_tries_commented",
        _H,
        f"{_TRIES}/comment.fail",
        "sshd_drop MaxAuthTries; sshd_main '#MaxAuthTries 4'",
        "warning",
        "sshd-hardening",
        differs="graded",
    ),
    scenario(
        "max_auth_tries_equal",
        _H,
        f"{_TRIES}/correct_value_equals.pass",
        "sshd_drop MaxAuthTries; sshd_main 'MaxAuthTries 4'",
        "pass",
        "sshd-hardening",
    ),
    scenario(
        "max_auth_tries_less",
        _H,
        f"{_TRIES}/correct_value_less_than.pass",
        "sshd_drop MaxAuthTries; sshd_dropin 10-tries.conf 'MaxAuthTries 3'",
        "pass",
        "sshd-hardening",
    ),
    scenario(
        "max_auth_tries_more",
        _H,
        f"{_TRIES}/wrong_value_more_than.fail",
        "sshd_drop MaxAuthTries; sshd_main 'MaxAuthTries 10'",
        "warning",
        "sshd-hardening",
        differs="graded",
    ),
    scenario(
        "max_auth_tries_more_in_dropin",
        _H,
        f"{_TRIES}/wrong_value_etc_sshd_config_drop_in.fail",
        "sshd_drop MaxAuthTries; sshd_dropin 10-tries.conf 'MaxAuthTries 8'",
        "warning",
        "sshd-hardening",
        differs="graded",
    ),
    scenario(
        "max_auth_tries_zero",
        _H,
        f"{_TRIES}/wrong_value_less_than_0.fail",
        "sshd_drop MaxAuthTries; sshd_main 'MaxAuthTries 0'",
        "pass",
        "sshd-hardening",
        differs="max-auth-tries-zero",
    ),
    scenario(
        "root_password_login_in_match_block",
        _H,
        f"{_ROOT}/wrong_value.fail",
        f"{_PASSWORDS_ON}; sshd_main 'Match User root' '  PermitRootLogin yes'",
        "fail",
        _WHOLE_FILE,  # lines appended after it would be in its Match block
    ),
    scenario(
        "root_password_login_from_an_address_range",
        _H,
        f"{_ROOT}/wrong_value.fail",
        f"{_PASSWORDS_ON}; sshd_main 'Match Address 10.0.0.0/8,!10.0.0.1' '  PermitRootLogin yes'",
        "fail",
        _WHOLE_FILE,
    ),
    scenario(
        "empty_passwords_for_one_user",
        _H,
        f"{_EMPTY}/wrong_value.fail",
        "sshd_main 'Match User nobody' '  PermitEmptyPasswords yes'",
        "fail",
        _WHOLE_FILE,
    ),
    scenario(
        "max_auth_tries_more_on_another_port",
        _H,
        f"{_TRIES}/wrong_value_more_than.fail",
        "sshd_main 'Match LocalPort 2222' '  MaxAuthTries 10'",
        "warning",
        _WHOLE_FILE,
        differs="graded",
    ),
]

_CIPHERS = "sshd_use_strong_ciphers"
_MACS = "sshd_use_strong_macs"
_KEX = "sshd_use_strong_kex"
CRYPTO = [
    scenario(
        "ciphers_line_not_there",
        _C,
        f"{_CIPHERS}/no_ciphers.fail",
        "sshd_drop Ciphers",
        "pass",
        "sshd-crypto",
        differs="openssh-defaults",
    ),
    scenario(
        "ciphers_strong",
        _C,
        f"{_CIPHERS}/good_cipher.pass",
        "sshd_drop Ciphers; sshd_main 'Ciphers aes256-gcm@openssh.com,aes128-ctr'",
        "pass",
        "sshd-crypto",
    ),
    scenario(
        "ciphers_cbc",
        _C,
        f"{_CIPHERS}/no_ciphers.fail",
        "sshd_drop Ciphers; sshd_main 'Ciphers aes256-ctr,aes128-cbc'",
        "fail",
        "sshd-crypto",
    ),
    scenario(
        "macs_line_not_there",
        _C,
        f"{_MACS}/no_macs.fail",
        "sshd_drop MACs",
        "warning",
        "sshd-crypto",
        differs="graded",
    ),
    scenario(
        "macs_strong_subset_in_dropin",
        _C,
        f"{_MACS}/correct_dir.pass",
        "sshd_drop MACs; sshd_dropin 10-macs.conf 'MACs hmac-sha2-512-etm@openssh.com'",
        "pass",
        "sshd-crypto",
    ),
    scenario(
        "macs_strong_reordered",
        _C,
        f"{_MACS}/correct_mixed.pass",
        "sshd_drop MACs; sshd_main"
        " 'MACs hmac-sha2-256,hmac-sha2-512-etm@openssh.com,hmac-sha2-512'",
        "pass",
        "sshd-crypto",
    ),
    scenario(
        "macs_commented_strong_then_sha1",
        _C,
        f"{_MACS}/conflicting.fail",
        "sshd_drop MACs; sshd_main '#MACs hmac-sha2-512' 'MACs hmac-sha1'",
        "pass",
        "sshd-crypto",
        differs="hmac-sha1",
    ),
    scenario(
        "macs_md5",
        _C,
        f"{_MACS}/conflicting_dir.fail",
        "sshd_drop MACs; sshd_dropin 10-macs.conf 'MACs hmac-md5,hmac-sha2-256'",
        "fail",
        "sshd-crypto",
    ),
    scenario(
        "kex_line_not_there",
        _C,
        f"{_KEX}/no_kex.fail",
        "sshd_drop KexAlgorithms",
        "pass",
        "sshd-crypto",
        differs="openssh-defaults",
    ),
    scenario(
        "kex_sha1_group_exchange_in_dropin",
        _C,
        f"{_KEX}/weak_kex_dir.fail",
        "sshd_drop KexAlgorithms;"
        " sshd_dropin 00-test.conf 'KexAlgorithms diffie-hellman-group-exchange-sha1'",
        "fail",
        "sshd-crypto",
    ),
    scenario(
        "kex_conflict_weak_first",
        _C,
        f"{_KEX}/conflicting_dir.fail",
        "sshd_drop KexAlgorithms;"
        " sshd_dropin 10-a.conf 'KexAlgorithms diffie-hellman-group14-sha1,curve25519-sha256';"
        " sshd_dropin 20-b.conf 'KexAlgorithms curve25519-sha256'",
        "warning",
        "sshd-crypto",
        differs="graded",
    ),
    scenario(
        "kex_strong_subset",
        _C,
        f"{_KEX}/correct_subset.pass",
        "sshd_drop KexAlgorithms; sshd_main 'KexAlgorithms curve25519-sha256,ecdh-sha2-nistp256'",
        "pass",
        "sshd-crypto",
    ),
    scenario(
        "sshd_config_readable_by_all",
        _P,
        "file_permissions_sshd_config/lenient_permissions.fail",
        "chmod 0644 /etc/ssh/sshd_config",
        "warning",
        "sshd-mode",
        differs="graded",
    ),
    scenario(
        "sshd_config_owner_only",
        _P,
        "file_permissions_sshd_config/correct_permissions.pass",
        "chmod 0600 /etc/ssh/sshd_config",
        "pass",
        "sshd-mode",
    ),
]

SCENARIOS = [*HARDENING, *CRYPTO]
