"""Simulated runbooks for network hardening: LLMNR, NetBIOS broadcasts, SMB signing,
SCHANNEL protocols and NTLM, removable storage and autorun.

Each function mirrors ``playbooks/windows/<id>.ps1`` and prints the same lines (see
``runbook_base``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .controls import SchannelProtocol
from .runbook_base import RunbookFailure, before, ps_int, simulates
from .state import WindowsState

OLD_PROTOCOLS = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1")


@simulates("windows_llmnr_disable")
def _llmnr_disable(state: WindowsState, now: datetime) -> list[str]:
    if state.EnableMulticast == 0:
        return ["unchanged: LLMNR is already off by policy"]
    was = before(state.EnableMulticast)
    state.EnableMulticast = 0
    return [f"changed: EnableMulticast {was} -> 0"]


@simulates("windows_netbios_broadcast_disable")
def _netbios_broadcast_disable(state: WindowsState, now: datetime) -> list[str]:
    if state.NodeType == 2:
        return ["unchanged: NetBT is already a P-node (NodeType 2)"]
    was = before(state.NodeType)
    state.NodeType = 2
    return [f"changed: NetBT NodeType {was} -> 2"]


@simulates("windows_smb_signing_require")
def _smb_signing_require(state: WindowsState, now: datetime) -> list[str]:
    lines = []
    for side, settings in (("server", state.smb), ("client", state.smb_client)):
        if not settings.RequireSecuritySignature:
            lines.append(f"changed: SMB {side} RequireSecuritySignature False -> True")
            settings.RequireSecuritySignature = settings.EnableSecuritySignature = True
    return lines or ["unchanged: the SMB server and client already require signing"]


def _protocol(state: WindowsState, name: str) -> SchannelProtocol:
    """The protocol's Server key, created (with no values) when it does not exist."""
    found = next((p for p in state.schannel if p.Protocol == name), None)
    if found is None:
        found = SchannelProtocol(name)
        state.schannel.append(found)
    return found


@simulates("windows_tls_ntlm_harden")
def _tls_ntlm_harden(state: WindowsState, now: datetime) -> list[str]:
    tls12 = next((p for p in state.schannel if p.Protocol == "TLS 1.2"), None)
    if tls12 is not None and tls12.Enabled == 0:
        raise RunbookFailure(
            "TLS 1.2 is switched off for servers: switch it on before the older protocols go off",
            near="throw 'TLS 1.2 is switched off",
        )
    lines = []
    for name in OLD_PROTOCOLS:
        protocol = _protocol(state, name)
        if protocol.Enabled != 0:
            lines.append(f"changed: {name} Server Enabled {before(protocol.Enabled)} -> 0")
            protocol.Enabled = 0
        if protocol.DisabledByDefault != 1:
            was = before(protocol.DisabledByDefault)
            lines.append(f"changed: {name} Server DisabledByDefault {was} -> 1")
            protocol.DisabledByDefault = 1
    if state.LmCompatibilityLevel != 5:
        lines.append(f"changed: LmCompatibilityLevel {before(state.LmCompatibilityLevel)} -> 5")
        state.LmCompatibilityLevel = 5
    return lines or ["unchanged: old protocols are off for servers and only NTLMv2 is used"]


@simulates("windows_usb_storage_block", variables=("osiris_autorun_off_mask",))
def _usb_storage_block(state: WindowsState, now: datetime, autorun_off_mask: Any) -> list[str]:
    policy, lines, mask = state.usb_storage, [], ps_int(autorun_off_mask)
    if policy.Deny_Write != 1:
        lines.append(f"changed: Deny_Write {before(policy.Deny_Write)} -> 1")
        policy.Deny_Write = 1
    if policy.NoDriveTypeAutoRun != mask:
        lines.append(f"changed: NoDriveTypeAutoRun {before(policy.NoDriveTypeAutoRun)} -> {mask}")
        policy.NoDriveTypeAutoRun = mask
    return lines or ["unchanged: removable disks are read-only and autorun is off"]


@simulates("windows_autorun_disable", variables=("osiris_autorun_off_mask",))
def _autorun_disable(state: WindowsState, now: datetime, autorun_off_mask: Any) -> list[str]:
    policy, mask = state.usb_storage, ps_int(autorun_off_mask)
    if policy.NoDriveTypeAutoRun == mask:
        return [f"unchanged: autorun is already off (NoDriveTypeAutoRun {mask})"]
    was = before(policy.NoDriveTypeAutoRun)
    policy.NoDriveTypeAutoRun = mask
    return [f"changed: NoDriveTypeAutoRun {was} -> {mask}"]
