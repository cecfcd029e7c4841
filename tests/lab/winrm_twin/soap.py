"""WS-Management SOAP envelopes: parsing requests, building responses and faults.

Only the subset that WinRS clients (pywinrm, Ansible's winrm plugin) use is
covered. Responses mirror what a Windows WinRM service returns closely enough
that clients written against Windows parse them unchanged.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"
NS_ADDRESSING = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
NS_WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
NS_MS_WSMAN = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
NS_SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
NS_FAULT = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
NS_XML = "http://www.w3.org/XML/1998/namespace"

ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
FAULT_ACTION = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
DEFAULT_MAX_ENVELOPE_SIZE = 153600

# Prefixes Windows uses; registering them only affects how we serialise.
for _prefix, _uri in {
    "s": NS_SOAP,
    "a": NS_ADDRESSING,
    "x": NS_TRANSFER,
    "w": NS_WSMAN,
    "p": NS_MS_WSMAN,
    "rsp": NS_SHELL,
    "f": NS_FAULT,
}.items():
    ET.register_namespace(_prefix, _uri)


def qname(namespace: str, local: str) -> str:
    """Return the ElementTree `{namespace}local` name."""
    return f"{{{namespace}}}{local}"


class WsmanFault(Exception):
    """A SOAP fault to send back (HTTP 500), shaped like Windows' WSManFault.

    `subcode` is a prefixed QName such as `w:InvalidSelectors`; `wsman_code`
    is the numeric WSManFault Code Windows puts in the detail, when known.
    """

    def __init__(
        self,
        reason: str,
        *,
        code: str = "s:Sender",
        subcode: str = "w:InvalidParameter",
        wsman_code: int | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.subcode = subcode
        self.wsman_code = wsman_code
        self.detail = detail or reason


@dataclass
class WsmanRequest:
    """The parts of a WS-Management request the twin acts on."""

    action: str
    message_id: str
    resource_uri: str | None
    body: ET.Element
    selectors: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    max_envelope_size: int = DEFAULT_MAX_ENVELOPE_SIZE

    def shell_id(self) -> str:
        """Return the ShellId selector or raise the fault Windows sends."""
        shell_id = self.selectors.get("ShellId")
        if not shell_id:
            raise WsmanFault(
                "The WS-Management service cannot process the request because the request "
                "contained invalid selectors for the resource.",
                subcode="w:InvalidSelectors",
                wsman_code=2150858843,
                detail="The Windows Remote Shell cannot process the request because it "
                "requires the following selector: ShellId.",
            )
        return shell_id


def parse_request(data: bytes) -> WsmanRequest:
    """Parse a SOAP envelope; raise WsmanFault if it is not usable WS-Man."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise WsmanFault(
            f"The request is not well-formed XML: {exc}", subcode="w:SchemaValidationError"
        ) from exc
    header = root.find(qname(NS_SOAP, "Header"))
    body = root.find(qname(NS_SOAP, "Body"))
    if root.tag != qname(NS_SOAP, "Envelope") or header is None or body is None:
        raise WsmanFault(
            "The request is not a SOAP 1.2 envelope.", subcode="w:SchemaValidationError"
        )
    action = header.findtext(qname(NS_ADDRESSING, "Action"), "").strip()
    message_id = header.findtext(qname(NS_ADDRESSING, "MessageID"), "").strip()
    if not action or not message_id:
        raise WsmanFault(
            "The request is missing the WS-Addressing Action or MessageID header.",
            subcode="a:MessageInformationHeaderRequired",
        )
    return WsmanRequest(
        action=action,
        message_id=message_id,
        resource_uri=(header.findtext(qname(NS_WSMAN, "ResourceURI")) or "").strip() or None,
        body=body,
        selectors=_named_values(header, "SelectorSet", "Selector"),
        options=_named_values(header, "OptionSet", "Option"),
        max_envelope_size=_max_envelope_size(header),
    )


def response_envelope(action: str, relates_to: str) -> tuple[ET.Element, ET.Element]:
    """Start a response envelope; return `(envelope, body)` to fill in."""
    envelope = ET.Element(qname(NS_SOAP, "Envelope"), {qname(NS_XML, "lang"): "en-US"})
    header = ET.SubElement(envelope, qname(NS_SOAP, "Header"))
    ET.SubElement(header, qname(NS_ADDRESSING, "Action")).text = action
    ET.SubElement(
        header, qname(NS_ADDRESSING, "MessageID")
    ).text = f"uuid:{str(uuid.uuid4()).upper()}"
    ET.SubElement(header, qname(NS_ADDRESSING, "To")).text = ANONYMOUS
    ET.SubElement(header, qname(NS_ADDRESSING, "RelatesTo")).text = relates_to
    return envelope, ET.SubElement(envelope, qname(NS_SOAP, "Body"))


def fault_envelope(fault: WsmanFault, relates_to: str | None, machine: str) -> bytes:
    """Serialise `fault` as the SOAP envelope Windows returns with HTTP 500."""
    envelope, body = response_envelope(FAULT_ACTION, relates_to or f"uuid:{uuid.uuid4()}")
    if fault.subcode.startswith("w:"):
        # The subcode is a QName inside text, so ElementTree cannot see that the
        # w: prefix is used; no w: element appears in a fault, so no duplicate.
        envelope.set("xmlns:w", NS_WSMAN)
    fault_el = ET.SubElement(body, qname(NS_SOAP, "Fault"))
    code_el = ET.SubElement(fault_el, qname(NS_SOAP, "Code"))
    ET.SubElement(code_el, qname(NS_SOAP, "Value")).text = fault.code
    subcode_el = ET.SubElement(code_el, qname(NS_SOAP, "Subcode"))
    ET.SubElement(subcode_el, qname(NS_SOAP, "Value")).text = fault.subcode
    reason_el = ET.SubElement(fault_el, qname(NS_SOAP, "Reason"))
    text_el = ET.SubElement(reason_el, qname(NS_SOAP, "Text"), {qname(NS_XML, "lang"): "en-US"})
    text_el.text = fault.reason
    detail_el = ET.SubElement(fault_el, qname(NS_SOAP, "Detail"))
    attrs = {"Machine": machine}
    if fault.wsman_code is not None:
        attrs["Code"] = str(fault.wsman_code)
    wsman_fault = ET.SubElement(detail_el, qname(NS_FAULT, "WSManFault"), attrs)
    ET.SubElement(wsman_fault, qname(NS_FAULT, "Message")).text = fault.detail
    return serialize(envelope)


def serialize(envelope: ET.Element) -> bytes:
    """Serialise an envelope as UTF-8 bytes without an XML declaration."""
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=False)


def _named_values(header: ET.Element, set_name: str, item_name: str) -> dict[str, str]:
    container = header.find(qname(NS_WSMAN, set_name))
    if container is None:
        return {}
    return {
        item.get("Name", ""): (item.text or "").strip()
        for item in container.findall(qname(NS_WSMAN, item_name))
    }


def _max_envelope_size(header: ET.Element) -> int:
    text = header.findtext(qname(NS_WSMAN, "MaxEnvelopeSize"), "").strip()
    try:
        return int(text) if text else DEFAULT_MAX_ENVELOPE_SIZE
    except ValueError as exc:
        raise WsmanFault(f"MaxEnvelopeSize {text!r} is not a number.") from exc
