"""Which drifts each Windows runbook must undo on a twin host, and what it must refuse.

tests/unit/test_windows_runbooks.py runs every runbook in playbooks/windows against a
twin host drifted by each ``RunbookCase`` (named drifts from ``drifts*.py``, then an
optional ``setup`` for states no named drift makes): over WinRM, the checks the runbook
fixes must fail or warn before and pass after; ``shows`` must hold on the saved state; a
second run reports only ``unchanged:``. A case with ``fails`` set is one the runbook
must refuse: exit code 1, that text on stderr and the state left as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from .state import TwinRole, WindowsState

WS: TwinRole = "workstation"
SRV: TwinRole = "member_server"
DC: TwinRole = "domain_controller"

StateTest = Callable[[WindowsState], bool]


class RunbookCase(NamedTuple):
    role: TwinRole
    drifts: tuple[str, ...]
    shows: StateTest | None = None  # what the saved state must show afterwards
    setup: Callable[[WindowsState], None] | None = None
    fails: str | None = None  # the runbook must fail with this on stderr


def _tls12_off(state: WindowsState) -> None:
    next(p for p in state.schannel if p.Protocol == "TLS 1.2").Enabled = 0


def _no_dns_service(state: WindowsState) -> None:
    state.services = [s for s in state.services if s.Name != "DNS"]


def _guests_disabled(state: WindowsState) -> bool:
    return all(account.Disabled for account in state.accounts_with_rid(501))


def _service(name: str, status: str, start: str = "Automatic") -> StateTest:
    def shows(state: WindowsState) -> bool:
        service = state.service(name)
        return service is not None and (service.Status, service.StartType) == (status, start)

    return shows


def _locks(bad_count: int, duration: int, reset: int) -> StateTest:
    def shows(state: WindowsState) -> bool:
        policy = state.security_policy
        found = (policy.LockoutBadCount, policy.LockoutDuration, policy.ResetLockoutCount)
        return found == (bad_count, duration, reset)

    return shows


def _old_protocols_off(state: WindowsState) -> bool:
    old = [p for p in state.schannel if p.Protocol in ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1")]
    return len(old) == 4 and all((p.Enabled, p.DisabledByDefault) == (0, 1) for p in old)


def _synchronised(state: WindowsState) -> bool:
    time = state.time_service
    return time is not None and time.service_running and abs(time.PhaseOffset) < 1


RUNBOOK_CASES: dict[str, list[RunbookCase]] = {
    "windows_firewall_enable": [
        RunbookCase(WS, ("firewall_public_off",), lambda s: s.firewall_profiles[2].Enabled),
        RunbookCase(
            SRV,
            ("firewall_public_allow_inbound",),
            lambda s: s.firewall_profiles[2].DefaultInboundAction == "Block",
        ),
    ],
    "windows_smb1_disable": [
        RunbookCase(SRV, ("smb1_on",), lambda s: not s.smb.EnableSMB1Protocol),
        RunbookCase(WS, ("smb1_client_on",), lambda s: s.smb.mrxsmb10_start == 4),
    ],
    "windows_guest_disable": [
        RunbookCase(WS, ("guest_enabled",), _guests_disabled),
        RunbookCase(DC, ("guest_enabled",), _guests_disabled),
        RunbookCase(SRV, ("guest_missing",), fails="no account with relative id 501"),
    ],
    "windows_rdp_nla_require": [
        RunbookCase(WS, ("rdp_no_nla",), lambda s: s.rdp.UserAuthentication == 1),
        RunbookCase(SRV, ("rdp_policy_no_nla",), lambda s: s.rdp.policy_UserAuthentication == 1),
    ],
    "windows_screen_lock_set": [
        RunbookCase(WS, ("screen_lock_off",), lambda s: s.InactivityTimeoutSecs == 900),
        RunbookCase(SRV, ("screen_lock_long",), lambda s: s.InactivityTimeoutSecs == 900),
    ],
    "windows_llmnr_disable": [
        RunbookCase(WS, ("llmnr_on",), lambda s: s.EnableMulticast == 0),
        RunbookCase(DC, ("llmnr_policy_on",), lambda s: s.EnableMulticast == 0),
    ],
    "windows_netbios_broadcast_disable": [
        RunbookCase(WS, ("netbios_default",), lambda s: s.NodeType == 2),
    ],
    "windows_smb_signing_require": [
        RunbookCase(WS, ("smb_signing_server_off",), lambda s: s.smb.RequireSecuritySignature),
        RunbookCase(
            SRV, ("smb_signing_client_off",), lambda s: s.smb_client.RequireSecuritySignature
        ),
    ],
    "windows_usb_storage_block": [
        RunbookCase(
            WS,
            ("usb_unrestricted",),
            lambda s: (s.usb_storage.Deny_Write, s.usb_storage.NoDriveTypeAutoRun) == (1, 255),
        ),
    ],
    "windows_autorun_disable": [
        RunbookCase(SRV, ("usb_autorun_on",), lambda s: s.usb_storage.NoDriveTypeAutoRun == 255),
    ],
    "windows_audit_policy_set": [
        RunbookCase(
            WS,
            ("audit_logon_off",),
            lambda s: any(
                (a.Subcategory, a.InclusionSetting) == ("Logon", "Success and Failure")
                for a in s.audit_policy
            ),
        ),
        RunbookCase(SRV, ("audit_success_only",)),
        RunbookCase(
            DC,
            ("audit_ds_changes_off",),
            lambda s: any(
                (a.Subcategory, a.InclusionSetting) == ("Directory Service Changes", "Success")
                for a in s.audit_policy
            ),
        ),
    ],
    "windows_password_policy_set": [
        RunbookCase(
            WS, ("password_short",), lambda s: s.security_policy.MinimumPasswordLength == 14
        ),
        RunbookCase(
            DC, ("password_complexity_off",), lambda s: s.security_policy.PasswordComplexity == 1
        ),
        RunbookCase(
            DC, ("password_history_short",), lambda s: s.security_policy.PasswordHistorySize == 24
        ),
        RunbookCase(WS, ("password_short", "secedit_denied"), fails="secedit /export failed"),
    ],
    "windows_lockout_policy_set": [
        RunbookCase(WS, ("lockout_off",), _locks(5, 15, 15)),
        RunbookCase(SRV, ("lockout_lenient",), _locks(5, 15, 15)),
        RunbookCase(DC, ("lockout_short_duration",), _locks(5, 15, 15)),
    ],
    "windows_spooler_dc_disable": [
        RunbookCase(DC, ("spooler_running_dc",), _service("Spooler", "Stopped", "Disabled")),
        RunbookCase(DC, ("spooler_manual_dc",), _service("Spooler", "Stopped", "Disabled")),
    ],
    "windows_defender_realtime_enable": [
        RunbookCase(WS, ("av_realtime_off",), lambda s: s.defender.RealTimeProtectionEnabled),
        RunbookCase(
            SRV,
            ("av_realtime_policy_off",),
            lambda s: (
                s.defender.policy_DisableRealtimeMonitoring is None
                and s.defender.effective("RealTimeProtectionEnabled") is True
            ),
        ),
        RunbookCase(SRV, ("defender_stopped",), _service("WinDefend", "Running")),
        RunbookCase(
            SRV, ("av_off",), fails="Defender Antivirus is off (AMRunningMode Passive Mode)"
        ),
    ],
    "windows_defender_cloud_enable": [
        RunbookCase(WS, ("defender_cloud_off",), lambda s: s.defender.MAPSReporting == 2),
        RunbookCase(
            SRV, ("defender_samples_never",), lambda s: s.defender.SubmitSamplesConsent == 1
        ),
        RunbookCase(DC, ("defender_pua_off",), lambda s: s.defender.PUAProtection == 1),
        RunbookCase(
            WS,
            ("defender_cloud_policy_off",),
            lambda s: (
                (s.defender.policy_SpynetReporting, s.defender.policy_PUAProtection) == (None, None)
                # a policy value that already agrees is left alone
                and s.defender.policy_SubmitSamplesConsent == 1
                and [s.defender.effective(n) for n in ("MAPSReporting", "PUAProtection")] == [2, 1]
            ),
        ),
        RunbookCase(WS, ("defender_stopped",), fails="Get-MpPreference : Operation failed"),
    ],
    "windows_defender_signatures_update": [
        RunbookCase(SRV, ("av_signatures_stale",)),
        RunbookCase(WS, ("av_signatures_aging",)),
        RunbookCase(DC, ("defender_stopped",), fails="0x800106ba"),
    ],
    "windows_event_log_size_set": [
        RunbookCase(
            WS,
            ("log_security_small",),
            lambda s: (
                (s.event_logs[0].LogName, s.event_logs[0].MaximumSizeInBytes)
                == ("Security", 196608 * 1024)
            ),
        ),
        RunbookCase(SRV, ("log_retain_mode",), lambda s: s.event_logs[0].LogMode == "Circular"),
    ],
    "windows_tls_ntlm_harden": [
        RunbookCase(SRV, ("ssl3_enabled",), _old_protocols_off),
        RunbookCase(WS, ("ntlm_level_low",), lambda s: s.LmCompatibilityLevel == 5),
        RunbookCase(WS, ("schannel_defaults",), _old_protocols_off),
        RunbookCase(DC, ("tls10_enabled", "ntlm_level_unset"), _old_protocols_off),
        RunbookCase(SRV, ("ssl3_enabled",), setup=_tls12_off, fails="TLS 1.2 is switched off"),
    ],
    "windows_critical_services_start": [
        RunbookCase(WS, ("eventlog_stopped",), _service("EventLog", "Running")),
        RunbookCase(SRV, ("firewall_service_manual",), _service("MpsSvc", "Running")),
        RunbookCase(DC, ("dc_service_stopped",), _service("NTDS", "Running")),
        RunbookCase(DC, ("time_service_stopped",), _service("W32Time", "Running")),
        RunbookCase(DC, (), setup=_no_dns_service, fails="not installed, so not started: DNS"),
    ],
    "windows_time_resync": [
        RunbookCase(WS, ("time_free_running",), _synchronised),
        RunbookCase(SRV, ("time_cmos_clock",), _synchronised),
        RunbookCase(SRV, ("time_service_stopped",), _synchronised),
        RunbookCase(DC, ("time_sync_stale",), _synchronised),
        RunbookCase(WS, ("time_skewed",), _synchronised),
    ],
    "windows_patch_install": [
        RunbookCase(WS, ("patch_critical_overdue",), lambda s: not s.windows_update.pending),
        RunbookCase(SRV, ("patch_critical_new",), lambda s: s.windows_update.RebootRequired),
        RunbookCase(DC, ("patch_moderate_overdue",)),
        RunbookCase(SRV, ("patch_search_fails",), fails="Windows Update failed: Exception from"),
    ],
    "windows_inactive_accounts_disable": [
        RunbookCase(
            WS,
            ("inactive_local_account",),
            lambda s: all(a.Disabled for a in s.user_accounts if a.Name == "temp.nurse"),
        ),
        RunbookCase(
            DC,
            ("inactive_ad_user",),
            lambda s: not any(u.Enabled for u in s.ad_users if u.SamAccountName == "frontdesk"),
        ),
    ],
}
