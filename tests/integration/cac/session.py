"""CaC's session timeout scenarios: TMOUT in the profile files, sshd's idle limits.

accounts_tmout's scenarios put TMOUT in /etc/profile, /etc/profile.d/*.sh or
/etc/bash.bashrc, in the forms bash accepts (`TMOUT=N; readonly TMOUT; export TMOUT`,
`declare -xr`, `typeset -xr`), commented, zero, too long, or twice with different values.
A login shell reads /etc/profile, which reads /etc/bash.bashrc (interactive shells) and
then /etc/profile.d/*.sh, then the rest of /etc/profile; the first read-only assignment
wins, later ones fail. The clean host has `readonly TMOUT=900` in
/etc/profile.d/50-lab-tmout.sh and no ClientAlive settings; the lnx_session_timeout
check passes on either a TMOUT or an SSH idle limit within 900 s (warning up to 1800 s).
"""

from __future__ import annotations

from tests.integration.cac import scenario

_T = "lnx_session_timeout"
_TMOUT = "accounts_tmout"
_D = "/etc/profile.d/tmout.sh"


def _tmout(line: str, where: str = _D) -> str:
    return f"tmout_clear; echo '{line}' >> {where}"


TMOUT = [
    scenario(
        "tmout_line_not_there",
        _T,
        f"{_TMOUT}/line_not_there.fail",
        "tmout_clear",
        "fail",
        "profile",
    ),
    scenario(
        "tmout_commented",
        _T,
        f"{_TMOUT}/comment_profile_d.fail",
        _tmout("# TMOUT=600"),
        "fail",
        "profile",
    ),
    scenario(
        "tmout_readonly_one_line",
        _T,
        f"{_TMOUT}/multiline_profile_d.pass",
        _tmout("TMOUT=600; readonly TMOUT; export TMOUT"),
        "pass",
        "profile",
    ),
    scenario(
        "tmout_declare_in_profile",
        _T,
        f"{_TMOUT}/correct_value_profile_declare.pass",
        _tmout("declare -xr TMOUT=600", "/etc/profile"),
        "pass",
        "profile",
    ),
    scenario(
        "tmout_declare_in_bash_bashrc",
        _T,
        f"{_TMOUT}/correct_value_bashrc.pass",
        _tmout("declare -xr TMOUT=600", "/etc/bash.bashrc"),
        "pass",
        "profile",
    ),
    scenario(
        "tmout_typeset_in_profile",
        _T,
        f"{_TMOUT}/duplicate_correct_value_diff_files.pass",
        _tmout("typeset -xr TMOUT=600", "/etc/profile"),
        "pass",
        "profile",
    ),
    scenario(
        "tmout_typeset_twice",
        _T,
        f"{_TMOUT}/duplicate_correct_value_diff_files.pass",
        f"{_tmout('typeset -xr TMOUT=600', '/etc/profile')}; echo 'typeset -xr TMOUT=600' >> {_D}",
        "pass",
        "profile",
    ),
    scenario(
        "tmout_plain_shorter",
        _T,
        f"{_TMOUT}/supercompliance_profile_d.pass",
        _tmout("TMOUT=300"),
        "pass",
        "profile",
    ),
    scenario(
        "tmout_zero",
        _T,
        f"{_TMOUT}/tmout_is_zero_profile_d.fail",
        _tmout("TMOUT=0"),
        "fail",
        "profile",
    ),
    scenario(
        "tmout_an_hour",
        _T,
        f"{_TMOUT}/wrong_value_profile_d.fail",
        _tmout("TMOUT=3600; readonly TMOUT; export TMOUT"),
        "fail",
        "profile",
    ),
    scenario(
        "tmout_twenty_minutes",
        _T,
        f"{_TMOUT}/multiline_profile_d.fail",
        _tmout("TMOUT=1200; readonly TMOUT; export TMOUT"),
        "warning",
        "profile",
        differs="graded",
    ),
    scenario(
        "tmout_conflict_in_profile_first_read_only_wins",
        _T,
        f"{_TMOUT}/conflicting_values_same_file.fail",
        _tmout("declare -xr TMOUT=600", "/etc/profile")
        + "; echo 'declare -xr TMOUT=3600' >> /etc/profile",
        "pass",
        "profile",
        differs="effective-tmout",
    ),
    scenario(
        "tmout_conflict_profile_d_read_first",
        _T,
        f"{_TMOUT}/conflicting_values_diff_file.fail",
        _tmout("typeset -xr TMOUT=600", "/etc/profile")
        + f"; echo 'typeset -xr TMOUT=3600' >> {_D}",
        "fail",
        "profile",
    ),
]

_IDLE = "sshd_set_idle_timeout"
_ALIVE = "sshd_set_keepalive"
_NO_TMOUT = "tmout_clear; sshd_drop ClientAliveInterval ClientAliveCountMax"
IDLE = [
    scenario(
        "ssh_idle_limit_set",
        _T,
        f"{_IDLE}/correct_value_directory.pass",
        f"{_NO_TMOUT}; sshd_dropin 10-idle.conf 'ClientAliveInterval 300' 'ClientAliveCountMax 1'",
        "pass",
        "sshd-idle profile",
    ),
    scenario(
        "ssh_idle_limit_line_not_there",
        _T,
        f"{_IDLE}/line_not_there.fail",
        _NO_TMOUT,
        "fail",
        "sshd-idle profile",
    ),
    scenario(
        "ssh_idle_limit_commented",
        _T,
        f"{_IDLE}/comment.fail",
        f"{_NO_TMOUT}; sshd_main '#ClientAliveInterval 300'",
        "fail",
        "sshd-idle profile",
    ),
    scenario(
        "ssh_idle_limit_an_hour",
        _T,
        f"{_IDLE}/wrong_value.fail",
        f"{_NO_TMOUT}; sshd_main 'ClientAliveInterval 3600' 'ClientAliveCountMax 1'",
        "fail",
        "sshd-idle profile",
    ),
    scenario(
        "ssh_idle_limit_conflict_long_first",
        _T,
        f"{_IDLE}/param_conflict_directory.fail",
        f"{_NO_TMOUT}; sshd_dropin 10-a.conf 'ClientAliveInterval 3600' 'ClientAliveCountMax 1';"
        " sshd_dropin 20-b.conf 'ClientAliveInterval 300'",
        "fail",
        "sshd-idle profile",
    ),
    scenario(
        "ssh_keepalive_three_rounds",
        _T,
        f"{_ALIVE}/wrong_value.fail",
        f"{_NO_TMOUT}; sshd_main 'ClientAliveInterval 300' 'ClientAliveCountMax 3'",
        "pass",
        "sshd-idle profile",
        differs="idle-product",
    ),
    scenario(
        "ssh_keepalive_zero",
        _T,
        "sshd_set_keepalive_0/correct_value.pass",
        f"{_NO_TMOUT}; sshd_main 'ClientAliveInterval 300' 'ClientAliveCountMax 0'",
        "fail",
        "sshd-idle profile",
        differs="keepalive-zero",
    ),
]


SCENARIOS = [*TMOUT, *IDLE]
