"""Which status each Windows check reports on a twin host after a named drift.

tests/unit/test_windows_checks.py runs every case through the check's real probe bundle
and evaluation, and checks that the cases of a check reach every status its rules
declare. A case may override thresholds the way a site's config.yaml does (an approved
admin, exclusion or autostart entry). Clean presets pass every applicable check; that is
tested separately.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from osiris.model import Status

from .state import TwinRole

PASS, WARNING, FAIL, ERROR, NA = Status.PASS, Status.WARNING, Status.FAIL, Status.ERROR, Status.NA
WS: TwinRole = "workstation"
SRV: TwinRole = "member_server"
DC: TwinRole = "domain_controller"


class Case(NamedTuple):
    role: TwinRole
    drift: str
    status: Status
    thresholds: dict[str, Any] = {}  # noqa: RUF012 (a NamedTuple default, never mutated)


CASES: dict[str, list[Case]] = {
    "win_firewall": [
        Case(WS, "firewall_public_off", FAIL),
        Case(SRV, "firewall_public_allow_inbound", FAIL),
        Case(DC, "firewall_domain_off", WARNING),
        Case(WS, "firewall_private_allow_inbound", WARNING),
        Case(SRV, "winrm_needs_firewall_off", FAIL),
    ],
    "win_av_status": [
        Case(WS, "av_realtime_off", FAIL),
        # the preference is on, a policy value turns it off: the policy's is what counts
        Case(SRV, "av_realtime_policy_off", FAIL),
        Case(SRV, "av_off", FAIL),
        Case(SRV, "defender_stopped", FAIL),
        Case(WS, "third_party_av", PASS),
    ],
    "win_av_signatures": [
        Case(WS, "av_signatures_aging", WARNING),
        Case(SRV, "av_signatures_stale", FAIL),
        Case(WS, "av_off", NA),
        Case(WS, "third_party_av", NA),
        Case(DC, "defender_stopped", ERROR),
    ],
    "win_bitlocker": [
        Case(WS, "bitlocker_off", FAIL),
        Case(SRV, "bitlocker_encrypting", WARNING),
        Case(WS, "bitlocker_suspended", WARNING),
        Case(SRV, "bitlocker_feature_missing", FAIL),
        Case(WS, "bitlocker_no_fixed_volume", ERROR),
    ],
    "win_smbv1": [
        Case(SRV, "smb1_on", FAIL),
        Case(WS, "smb1_client_on", FAIL),
    ],
    "win_rdp_nla": [
        Case(WS, "rdp_no_nla", FAIL),
        Case(SRV, "rdp_policy_no_nla", FAIL),
        Case(SRV, "rdp_state_unknown", ERROR),
    ],
    "win_guest_disabled": [
        Case(WS, "guest_enabled", FAIL),
        Case(DC, "guest_enabled", FAIL),
        Case(SRV, "guest_missing", ERROR),
    ],
    "win_password_policy": [
        Case(WS, "password_short", FAIL),
        Case(SRV, "password_complexity_off", FAIL),
        Case(WS, "password_length_12", WARNING),
        Case(DC, "password_history_short", WARNING),
        Case(WS, "secedit_denied", ERROR),
    ],
    "win_lockout": [
        Case(WS, "lockout_off", FAIL),
        Case(SRV, "lockout_lenient", WARNING),
        Case(DC, "lockout_short_duration", WARNING),
        Case(SRV, "secedit_denied", ERROR),
    ],
    "win_screen_lock": [
        Case(WS, "screen_lock_off", FAIL),
        Case(SRV, "screen_lock_long", WARNING),
    ],
    "win_audit_policy": [
        Case(WS, "audit_logon_off", FAIL),
        Case(SRV, "audit_success_only", WARNING),
        Case(DC, "audit_ds_changes_off", WARNING),
        Case(WS, "audit_ds_changes_off", PASS),  # not asked for off a DC
        Case(SRV, "audit_not_reported", ERROR),
    ],
    "win_critical_services": [
        Case(DC, "dc_service_stopped", FAIL),
        Case(DC, "dc_service_manual", WARNING),
        Case(WS, "eventlog_stopped", FAIL),
        Case(SRV, "firewall_service_manual", WARNING),
        Case(WS, "time_service_stopped", PASS),  # W32Time is required on a DC only
        Case(DC, "time_service_stopped", FAIL),
    ],
    "win_disk_space": [
        Case(WS, "disk_low", WARNING),
        Case(SRV, "disk_full", FAIL),
        Case(DC, "disk_size_zero", ERROR),
    ],
    "win_cert_expiry": [
        Case(SRV, "cert_expiring", WARNING),
        Case(DC, "cert_expired", FAIL),
    ],
    "win_backup_recency": [
        Case(SRV, "backup_aging", WARNING),
        Case(DC, "backup_stale", FAIL),
        Case(SRV, "backup_failed", FAIL),
        Case(SRV, "backup_never", FAIL),
        Case(SRV, "backup_feature_missing", FAIL),
    ],
    "win_patch_level": [
        Case(WS, "patch_critical_overdue", FAIL),
        Case(SRV, "patch_critical_new", WARNING),
        Case(DC, "patch_moderate_overdue", WARNING),
        Case(WS, "patch_none_for_45_days", FAIL),
        Case(SRV, "patch_search_fails", ERROR),
        Case(WS, "patch_reboot_overdue", WARNING),
        Case(WS, "patch_reboot_recent", PASS),
        Case(SRV, "patch_critical_overdue", WARNING, {"critical_days": 30}),
    ],
    "win_os_supported": [
        # the tests' clock is 2025-03-03: Windows 10 22H2 ends 2025-10-14
        Case(WS, "os_windows10", PASS),
        Case(WS, "os_windows10", WARNING, {"end_win10_22h2": 20250515}),
        Case(WS, "os_windows10", FAIL, {"end_win10_22h2": 20250101}),
        Case(WS, "os_windows11_21h2", FAIL),
        Case(WS, "os_windows10_1909", FAIL),
        Case(SRV, "os_server_2012r2", FAIL),
        Case(DC, "os_unknown_build", WARNING),
    ],
    "win_time_sync": [
        Case(WS, "time_free_running", FAIL),
        Case(SRV, "time_cmos_clock", FAIL),
        Case(DC, "time_sync_stale", WARNING),
        Case(WS, "time_skewed", FAIL),
        Case(SRV, "time_service_stopped", FAIL),
        Case(DC, "time_vm_host", WARNING),
        Case(WS, "time_localized", ERROR),
    ],
    "win_admin_accounts": [
        Case(WS, "admin_unapproved_local", FAIL),
        Case(SRV, "admin_unapproved_local", WARNING, {"excepted_admins": ["helpdesk"]}),
        Case(
            WS,
            "admin_unapproved_local",
            PASS,
            {"approved_admins": ["Administrator", "Domain Admins", "helpdesk"]},
        ),
        Case(DC, "admin_unapproved_domain", FAIL),
    ],
    "win_log_retention": [
        Case(WS, "log_security_small", WARNING),
        Case(SRV, "log_retain_mode", WARNING),
        Case(DC, "log_short_history", WARNING),
        Case(WS, "log_cleared", FAIL),
        Case(SRV, "log_empty", FAIL),
        Case(WS, "log_forwarded", PASS),
        Case(DC, "log_wef", PASS),
    ],
    "win_smb_signing": [
        Case(WS, "smb_signing_server_off", FAIL),
        Case(SRV, "smb_signing_client_off", WARNING),
    ],
    "win_tls_ntlm": [
        Case(SRV, "ssl3_enabled", FAIL),
        Case(DC, "tls10_enabled", WARNING),
        Case(WS, "schannel_defaults", WARNING),
        Case(WS, "ntlm_level_low", FAIL),
        Case(SRV, "ntlm_level_unset", WARNING),
    ],
    "win_usb_storage": [
        Case(WS, "usb_unrestricted", FAIL),
        Case(SRV, "usb_autorun_on", WARNING),
        Case(WS, "usb_bitlocker_to_go", PASS),
        Case(DC, "usb_driver_disabled", PASS),
    ],
    "win_inactive_accounts": [
        Case(WS, "inactive_local_account", FAIL),
        Case(SRV, "inactive_local_dormant", WARNING),
        Case(WS, "inactive_never_logged_on", WARNING),
        Case(DC, "inactive_ad_user", FAIL),
    ],
    "win_mfa": [
        Case(WS, "mfa_absent", WARNING),
        Case(SRV, "mfa_hello_for_business", PASS),
        Case(DC, "mfa_smart_card", PASS),
    ],
    "win_llmnr": [
        Case(WS, "llmnr_on", FAIL),
        Case(DC, "llmnr_policy_on", FAIL),
    ],
    "win_netbios": [
        Case(WS, "netbios_default", WARNING),
        Case(SRV, "netbios_p_node", PASS),
    ],
    "win_spooler_dc": [
        Case(DC, "spooler_running_dc", FAIL),
        Case(DC, "spooler_manual_dc", WARNING),
    ],
    "win_defender_exclusions": [
        Case(WS, "exclusion_whole_drive", FAIL),
        Case(SRV, "exclusion_powershell", FAIL),
        Case(DC, "exclusion_temp_folder", FAIL),
        Case(WS, "exclusion_exe_extension", FAIL),
        Case(SRV, "exclusion_ehr_database", WARNING),
        Case(SRV, "exclusion_ehr_database", PASS, {"approved_exclusions": ["D:\\EHR\\Data"]}),
        Case(WS, "av_off", NA),
        Case(SRV, "defender_stopped", ERROR),
    ],
    "win_defender_cloud": [
        Case(WS, "defender_cloud_off", FAIL),
        Case(WS, "defender_cloud_policy_off", FAIL),
        Case(SRV, "defender_samples_never", WARNING),
        Case(DC, "defender_pua_off", WARNING),
        Case(WS, "third_party_av", NA),
        Case(WS, "defender_stopped", ERROR),
    ],
    "win_persistence": [
        Case(WS, "persistence_vendor_agent", WARNING),
        Case(SRV, "persistence_vendor_agent", PASS, {"approved_entries": ["Acme Agent"]}),
        Case(WS, "persistence_public_folder", FAIL),
        Case(DC, "persistence_encoded_task", FAIL),
    ],
}

# runbook id -> (role, drift) cases it must undo: the runbook's check fails before and
# passes after, measured by re-running the probe
RUNBOOK_CASES: dict[str, list[tuple[TwinRole, str]]] = {
    "enable_firewall_profiles": [(WS, "firewall_public_off")],
    "disable_smb1": [(SRV, "smb1_on"), (WS, "smb1_client_on")],
    "disable_guest": [(WS, "guest_enabled")],
    "require_rdp_nla": [(WS, "rdp_no_nla"), (SRV, "rdp_policy_no_nla")],
    "set_screen_lock": [(WS, "screen_lock_off")],
    "disable_llmnr": [(WS, "llmnr_on"), (DC, "llmnr_policy_on")],
    "require_smb_signing": [(SRV, "smb_signing_server_off")],
    "block_usb_storage": [(WS, "usb_unrestricted")],
    "set_audit_policy": [(WS, "audit_logon_off"), (DC, "audit_ds_changes_off")],
    "set_password_policy": [(WS, "password_short"), (DC, "password_complexity_off")],
    "set_lockout_policy": [(WS, "lockout_off"), (SRV, "lockout_lenient")],
    "disable_spooler_dc": [(DC, "spooler_running_dc")],
}
