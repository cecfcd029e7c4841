"""Named drifts for the hardening checks: SMB signing, TLS and NTLM, removable storage,
LLMNR and NetBIOS, the DC spooler, MFA, Defender exclusions and cloud protection,
autostart persistence, and the odd outputs that make BitLocker, RDP and audit checks
undecidable.

Each function's docstring says what it changes and what the check then reports; the
registry is ``drift_base``. Times are relative to ``now``.
"""

from __future__ import annotations

from datetime import datetime

from .components import FileSignature, RunValue, ScheduledTask
from .controls import DUO_CREDENTIAL_PROVIDER, SchannelProtocol
from .drift_base import drift, existing_service, only_on
from .state import WindowsState

HKLM_RUN = "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run"


# -- SMB signing, TLS and NTLM ----------------------------------------------------------


@drift("smb_signing_server_off")
def _smb_signing_server_off(state: WindowsState, now: datetime) -> None:
    """The SMB server does not require signing. win_smb_signing: fail."""
    state.smb.RequireSecuritySignature = False


@drift("smb_signing_client_off")
def _smb_signing_client_off(state: WindowsState, now: datetime) -> None:
    """The SMB client does not require signing. win_smb_signing: warning."""
    state.smb_client.RequireSecuritySignature = False


def _schannel(state: WindowsState, name: str) -> SchannelProtocol:
    found = next((p for p in state.schannel if p.Protocol == name), None)
    if found is None:
        found = SchannelProtocol(name)
        state.schannel.append(found)
    return found


@drift("ssl3_enabled")
def _ssl3_enabled(state: WindowsState, now: datetime) -> None:
    """SSL 3.0 Server Enabled 1. win_tls_ntlm: fail."""
    protocol = _schannel(state, "SSL 3.0")
    protocol.Enabled, protocol.DisabledByDefault = 1, 0


@drift("tls10_enabled")
def _tls10_enabled(state: WindowsState, now: datetime) -> None:
    """TLS 1.0 Server Enabled 1 (an old EHR interface needs it). win_tls_ntlm: warning."""
    protocol = _schannel(state, "TLS 1.0")
    protocol.Enabled, protocol.DisabledByDefault = 1, 0


@drift("schannel_defaults")
def _schannel_defaults(state: WindowsState, now: datetime) -> None:
    """No SCHANNEL protocol values set: the OS defaults apply. win_tls_ntlm: warning."""
    state.schannel = []


@drift("ntlm_level_low")
def _ntlm_level_low(state: WindowsState, now: datetime) -> None:
    """LmCompatibilityLevel 1 (LM and NTLM, NTLMv2 session security). win_tls_ntlm: fail."""
    state.LmCompatibilityLevel = 1


@drift("ntlm_level_unset")
def _ntlm_level_unset(state: WindowsState, now: datetime) -> None:
    """LmCompatibilityLevel not set (3 by default). win_tls_ntlm: warning."""
    state.LmCompatibilityLevel = None


# -- removable storage, LLMNR, NetBIOS, spooler -------------------------------------------


@drift("usb_unrestricted")
def _usb_unrestricted(state: WindowsState, now: datetime) -> None:
    """No removable storage policy, USBSTOR on demand. win_usb_storage: fail."""
    policy = state.usb_storage
    policy.Deny_All = policy.Deny_Write = policy.RDVDenyWriteAccess = None
    policy.USBSTOR_Start = 3


@drift("usb_autorun_on")
def _usb_autorun_on(state: WindowsState, now: datetime) -> None:
    """Writes are denied but autorun is left at the default (0x91). win_usb_storage: warning."""
    state.usb_storage.NoDriveTypeAutoRun = 0x91


@drift("usb_bitlocker_to_go")
def _usb_bitlocker_to_go(state: WindowsState, now: datetime) -> None:
    """No storage policy, but only BitLocker To Go drives are writable. win_usb_storage: pass."""
    policy = state.usb_storage
    policy.Deny_All = policy.Deny_Write = None
    policy.RDVDenyWriteAccess = 1


@drift("usb_driver_disabled")
def _usb_driver_disabled(state: WindowsState, now: datetime) -> None:
    """No storage policy, but the USBSTOR driver is disabled (Start 4). win_usb_storage: pass."""
    policy = state.usb_storage
    policy.Deny_All = policy.Deny_Write = None
    policy.USBSTOR_Start = 4


@drift("llmnr_on")
def _llmnr_on(state: WindowsState, now: datetime) -> None:
    """The "Turn off multicast name resolution" policy is not set. win_llmnr: fail."""
    state.EnableMulticast = None


@drift("llmnr_policy_on")
def _llmnr_policy_on(state: WindowsState, now: datetime) -> None:
    """A policy sets EnableMulticast 1. win_llmnr: fail."""
    state.EnableMulticast = 1


@drift("netbios_default")
def _netbios_default(state: WindowsState, now: datetime) -> None:
    """Every adapter takes NetBIOS from DHCP (TcpipNetbiosOptions 0). win_netbios: warning."""
    for adapter in state.network_adapters:
        adapter.TcpipNetbiosOptions = 0


@drift("netbios_p_node")
def _netbios_p_node(state: WindowsState, now: datetime) -> None:
    """NetBIOS on (0) but NodeType 2 (P-node, WINS only). win_netbios: pass."""
    _netbios_default(state, now)
    state.NodeType = 2


@drift("spooler_running_dc")
def _spooler_running_dc(state: WindowsState, now: datetime) -> None:
    """Domain controllers: the Print Spooler runs (Automatic). win_spooler_dc: fail."""
    only_on(state, "domain_controller")
    spooler = existing_service(state, "Spooler")
    spooler.Status, spooler.StartType = "Running", "Automatic"


@drift("spooler_manual_dc")
def _spooler_manual_dc(state: WindowsState, now: datetime) -> None:
    """Domain controllers: the Print Spooler is stopped but Manual. win_spooler_dc: warning."""
    only_on(state, "domain_controller")
    existing_service(state, "Spooler").StartType = "Manual"


# -- MFA ------------------------------------------------------------------------------


@drift("mfa_absent")
def _mfa_absent(state: WindowsState, now: datetime) -> None:
    """Duo is uninstalled; no other MFA indicator. win_mfa: warning (attestation)."""
    state.credential_providers = [
        p for p in state.credential_providers if p.Guid != DUO_CREDENTIAL_PROVIDER.Guid
    ]


@drift("mfa_hello_for_business")
def _mfa_hello_for_business(state: WindowsState, now: datetime) -> None:
    """No Duo, but Windows Hello for Business is required by policy. win_mfa: pass."""
    _mfa_absent(state, now)
    state.PassportForWork_Enabled = 1


@drift("mfa_smart_card")
def _mfa_smart_card(state: WindowsState, now: datetime) -> None:
    """No Duo, but interactive logon requires a smart card. win_mfa: pass."""
    _mfa_absent(state, now)
    state.scforceoption = 1


# -- Defender ------------------------------------------------------------------------------


@drift("exclusion_whole_drive")
def _exclusion_whole_drive(state: WindowsState, now: datetime) -> None:
    """Defender excludes the path C:\\. win_defender_exclusions: fail."""
    state.defender.ExclusionPath.append("C:\\")


@drift("exclusion_powershell")
def _exclusion_powershell(state: WindowsState, now: datetime) -> None:
    """Defender excludes the process powershell.exe. win_defender_exclusions: fail."""
    state.defender.ExclusionProcess.append("powershell.exe")


@drift("exclusion_temp_folder")
def _exclusion_temp_folder(state: WindowsState, now: datetime) -> None:
    """Defender excludes C:\\Windows\\Temp. win_defender_exclusions: fail."""
    state.defender.ExclusionPath.append("C:\\Windows\\Temp")


@drift("exclusion_exe_extension")
def _exclusion_exe_extension(state: WindowsState, now: datetime) -> None:
    """Defender excludes the extension .exe. win_defender_exclusions: fail."""
    state.defender.ExclusionExtension.append(".exe")


@drift("exclusion_ehr_database")
def _exclusion_ehr_database(state: WindowsState, now: datetime) -> None:
    """Defender excludes an EHR database folder (a vendor's advice). win_defender_exclusions:
    warning, or pass when the site approves it."""
    state.defender.ExclusionPath.append("D:\\EHR\\Data")


@drift("defender_cloud_off")
def _defender_cloud_off(state: WindowsState, now: datetime) -> None:
    """MAPSReporting 0: cloud-delivered protection off. win_defender_cloud: fail."""
    state.defender.MAPSReporting = 0


@drift("defender_cloud_policy_off")
def _defender_cloud_policy_off(state: WindowsState, now: datetime) -> None:
    """Policy values turn cloud protection and PUA blocking off (SpynetReporting 0,
    PUAProtection 0) while the local preferences are on, and one says what the preference
    says (SubmitSamplesConsent 1): Set-MpPreference alone changes nothing.
    win_defender_cloud: fail."""
    defender = state.defender
    defender.policy_SpynetReporting = defender.policy_PUAProtection = 0
    defender.policy_SubmitSamplesConsent = 1


@drift("defender_samples_never")
def _defender_samples_never(state: WindowsState, now: datetime) -> None:
    """SubmitSamplesConsent 2 (never send). win_defender_cloud: warning."""
    state.defender.SubmitSamplesConsent = 2


@drift("defender_pua_off")
def _defender_pua_off(state: WindowsState, now: datetime) -> None:
    """PUAProtection 0. win_defender_cloud: warning."""
    state.defender.PUAProtection = 0


# -- persistence ---------------------------------------------------------------------------


@drift("persistence_vendor_agent")
def _persistence_vendor_agent(state: WindowsState, now: datetime) -> None:
    """An HKLM Run value starts a signed third-party agent. win_persistence: warning, or
    pass when the site approves "Acme Agent"."""
    path = "C:\\Program Files\\Acme\\agent.exe"
    state.run_values.append(RunValue(HKLM_RUN, "Acme Agent", f'"{path}" --tray'))
    state.file_signatures.append(FileSignature(path, "Valid", "CN=Acme Software Inc, O=Acme"))


@drift("persistence_public_folder")
def _persistence_public_folder(state: WindowsState, now: datetime) -> None:
    """An HKLM Run value starts an unsigned program in C:\\Users\\Public.
    win_persistence: fail."""
    path = "C:\\Users\\Public\\svchost.exe"
    state.run_values.append(RunValue(HKLM_RUN, "Windows Host", path))
    state.file_signatures.append(FileSignature(path, "NotSigned"))


@drift("persistence_encoded_task")
def _persistence_encoded_task(state: WindowsState, now: datetime) -> None:
    """A root scheduled task runs Microsoft-signed powershell.exe with an encoded command
    (a script host is never taken as Microsoft's). win_persistence: fail."""
    state.scheduled_tasks.append(
        ScheduledTask(
            "\\",
            "OneDrive Sync Health",
            "%SystemRoot%\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "-NoProfile -WindowStyle Hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA=",
        )
    )


# -- outputs a check cannot decide on ------------------------------------------------------


@drift("audit_not_reported")
def _audit_not_reported(state: WindowsState, now: datetime) -> None:
    """auditpol prints no Removable Storage row (a policy store it cannot read).
    win_audit_policy: error."""
    state.audit_policy = [a for a in state.audit_policy if a.Subcategory != "Removable Storage"]


@drift("bitlocker_no_fixed_volume")
def _bitlocker_no_fixed_volume(state: WindowsState, now: datetime) -> None:
    """Get-BitLockerVolume lists no fixed volume. win_bitlocker: error."""
    state.bitlocker_volumes = []


@drift("rdp_state_unknown")
def _rdp_state_unknown(state: WindowsState, now: datetime) -> None:
    """fDenyTSConnections is set neither locally nor by policy. win_rdp_nla: error."""
    state.rdp.fDenyTSConnections = state.rdp.policy_fDenyTSConnections = None
