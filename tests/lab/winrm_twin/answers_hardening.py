"""Twin answers for the hardening checks: SMB signing, TLS and NTLM, removable storage,
name resolution, the DC spooler, MFA indicators, Defender exclusions and cloud
protection, and autostart persistence. Each function mirrors its check's PowerShell probe
(checks/<id>.yaml) step by step; see ``answer_base``.
"""

from __future__ import annotations

import re
from datetime import datetime

from .answer_base import Facts, ProbeError, answer, defender_answers
from .state import WindowsState

OLD_PROTOCOLS = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1")


@answer("win_smb_signing")
def smb_signing(state: WindowsState, now: datetime) -> Facts:
    return {
        "server_RequireSecuritySignature": state.smb.RequireSecuritySignature,
        "server_EnableSecuritySignature": state.smb.EnableSecuritySignature,
        "client_RequireSecuritySignature": state.smb_client.RequireSecuritySignature,
        "client_EnableSecuritySignature": state.smb_client.EnableSecuritySignature,
    }


@answer("win_tls_ntlm")
def tls_ntlm(state: WindowsState, now: datetime) -> Facts:
    set_values = {protocol.Protocol: protocol for protocol in state.schannel}
    protocols = []
    for name in OLD_PROTOCOLS:
        value = set_values.get(name)
        protocols.append(
            {
                "Protocol": name,
                "Enabled": None if value is None else value.Enabled,
                "DisabledByDefault": None if value is None else value.DisabledByDefault,
            }
        )
    return {"protocols": protocols, "LmCompatibilityLevel": state.LmCompatibilityLevel}


@answer("win_usb_storage")
def usb_storage(state: WindowsState, now: datetime) -> Facts:
    policy = state.usb_storage
    return {
        "Deny_All": policy.Deny_All,
        "Deny_Write": policy.Deny_Write,
        "RDVDenyWriteAccess": policy.RDVDenyWriteAccess,
        "USBSTOR_Start": policy.USBSTOR_Start,
        "NoDriveTypeAutoRun": policy.NoDriveTypeAutoRun,
    }


@answer("win_llmnr")
def llmnr(state: WindowsState, now: datetime) -> Facts:
    return {"EnableMulticast": state.EnableMulticast}


@answer("win_netbios")
def netbios(state: WindowsState, now: datetime) -> Facts:
    adapters = [
        {"Description": adapter.Description, "TcpipNetbiosOptions": adapter.TcpipNetbiosOptions}
        for adapter in state.network_adapters
        if adapter.IPEnabled
    ]
    return {"adapters": adapters, "NodeType": state.NodeType}


@answer("win_spooler_dc")
def spooler_dc(state: WindowsState, now: datetime) -> Facts:
    service = state.service("Spooler")
    if service is None:
        return {"Status": "NotFound", "StartType": "NotFound"}
    return {"Status": service.Status, "StartType": service.StartType}


@answer("win_mfa")
def mfa(state: WindowsState, now: datetime) -> Facts:
    # Get-ChildItem lists registry subkeys in name order
    providers = sorted(state.credential_providers, key=lambda provider: provider.Guid.lower())
    return {
        "credential_providers": [{"Guid": p.Guid, "Name": p.Name} for p in providers],
        "PassportForWork_Enabled": state.PassportForWork_Enabled,
        "scforceoption": state.scforceoption,
    }


@answer("win_defender_exclusions")
def defender_exclusions(state: WindowsState, now: datetime) -> Facts:
    defender_answers(state)
    defender = state.defender
    lists = {
        "Path": defender.ExclusionPath,
        "Process": defender.ExclusionProcess,
        "Extension": defender.ExclusionExtension,
    }
    exclusions = []
    for kind, values in lists.items():
        for value in values:
            if not value:
                continue
            if value.lower().startswith("n/a:"):
                raise ProbeError(f"Get-MpPreference hides exclusions: {value}")
            exclusions.append({"Type": kind, "Value": value})
    return {"AntivirusEnabled": defender.AntivirusEnabled, "exclusions": exclusions}


@answer("win_defender_cloud")
def defender_cloud(state: WindowsState, now: datetime) -> Facts:
    defender_answers(state)
    defender = state.defender
    return {
        "AntivirusEnabled": defender.AntivirusEnabled,
        "MAPSReporting": defender.effective("MAPSReporting"),
        "SubmitSamplesConsent": defender.effective("SubmitSamplesConsent"),
        "PUAProtection": defender.effective("PUAProtection"),
    }


# -- win_persistence ------------------------------------------------------------------

SCRIPT_HOSTS = r"(^|\\)(powershell|pwsh|cmd|wscript|cscript|mshta|rundll32|regsvr32)(\.exe)?$"
RUN_KEYS = {
    "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run": "Run",
    "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce": "RunOnce",
    "HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Run": "Run",
    "HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\RunOnce": "RunOnce",
}
# what [Environment]::ExpandEnvironmentVariables gives on the twin's hosts
ENVIRONMENT = {
    "systemroot": "C:\\Windows",
    "windir": "C:\\Windows",
    "systemdrive": "C:",
    "programfiles": "C:\\Program Files",
    "programfiles(x86)": "C:\\Program Files (x86)",
    "programdata": "C:\\ProgramData",
}


def _expand(text: str) -> str:
    return re.sub(r"%([^%]+)%", lambda m: ENVIRONMENT.get(m.group(1).lower(), m.group(0)), text)


def _target(command: str) -> str:
    """Get-OsirisTarget: the program a command line runs."""
    text = _expand(command.strip())
    quoted = re.search(r'^"([^"]+)"', text, re.IGNORECASE)
    if quoted:
        return quoted.group(1)
    program = re.search(r"^(.+?\.(exe|com|bat|cmd|ps1|vbs|js))(\s|$)", text, re.IGNORECASE)
    if program:
        return program.group(1)
    return re.split(r"\s+", text)[0]


def _signer(state: WindowsState, path: str) -> str:
    """Get-OsirisSigner: the valid Authenticode signer's subject, or ''."""
    signature = state.signature(path) if path else None
    if signature is None or signature.Status != "Valid":
        return ""
    return signature.Subject


@answer("win_persistence")
def persistence(state: WindowsState, now: datetime) -> Facts:
    candidates = [
        {"Kind": kind, "Location": key, "Name": value.Name, "Command": value.Command}
        for key, kind in RUN_KEYS.items()
        for value in state.run_values
        if value.Key.lower() == key.lower() and value.Name
    ]
    for task in state.scheduled_tasks:
        if task.TaskPath.lower().startswith("\\microsoft\\") or not task.Execute:
            continue
        candidates.append(
            {
                "Kind": "Task",
                "Location": task.TaskPath,
                "Name": task.TaskPath + task.TaskName,
                "Command": f"{task.Execute} {task.Arguments}".strip(),
            }
        )
    entries = []
    for candidate in candidates:
        target = _target(candidate["Command"])
        signer = _signer(state, target)
        microsoft = re.search("O=Microsoft Corporation", signer, re.IGNORECASE)
        if microsoft and not re.search(SCRIPT_HOSTS, target, re.IGNORECASE):
            continue
        entries.append({**candidate, "Signer": signer})
    return {"entries": entries}
