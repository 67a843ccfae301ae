"""A mail-API message: parsed and authenticated, every field validated before anything happens.

    Subject: <ACTION> <stdid | min,max for RESET> <customerid> [email]
    Body:    the workshop name, e.g. WKSHP-Docker101 (CHLG-... for a challenge)

This is upstream's protocol (procmail-action.sh), kept so the upstream api-db works unchanged; a
request is authenticated on the envelope sender and the client address our postfix recorded,
never on a header the client wrote. Pure: nothing here changes the host.

Upstream's scheduler (CheckCustomers: sendPurgeMail, sendResetMail) does not await the student id
it computes, and sends `PURGE [object Promise] <customerid>` (RESET likewise): such a request
names its customer only (`by_customer`), and the handler finds the student in its own log.
"""

from __future__ import annotations

import email
import email.policy
import ipaddress
import re
from dataclasses import dataclass
from email.utils import parseaddr

from . import catalogue, naming

ACTIONS = ("CREATE", "CLEANUP", "RESET", "PURGE")
ID_RE = re.compile(r"^[0-9]{1,9}$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}$")
WORKSHOP_RE = re.compile(r"^(WKSHP|CHLG)-[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_MESSAGE = 256 * 1024
PROMISE = " [object Promise] "  # what upstream's scheduler puts where the student id goes


class Rejected(ValueError):
    """The message is not a valid request: nothing was changed."""


@dataclass(frozen=True)
class Request:
    action: str
    stdid: int
    custid: int
    email: str
    workshop: str  # as sent: WKSHP-X or CHLG-X ("" for PURGE)
    client: str = ""  # the SMTP client postfix recorded
    last: int = 0  # RESET min,max: the range's end (0: a single student)
    by_customer: bool = False  # upstream's `[object Promise]`: the student is the customer's (stdid 0)

    @property
    def student(self) -> str:
        return naming.student_name(self.stdid)

    @property
    def numbers(self) -> range:
        """The students this request acts on: one, or a RESET range (OneView-style workshops)."""
        return range(self.stdid, max(self.stdid, self.last) + 1)

    @property
    def ws(self) -> str:
        """The workshop directory: a challenge uses its workshop's notebooks."""
        return re.sub(r"^CHLG-", "WKSHP-", self.workshop)


# ---------------------------------------------------------------------------------------------
# parsing (pure)


def _address(value: str | None) -> str:
    return parseaddr(value or "")[1].strip().lower()


def parse(raw: bytes, cfg: dict, local_root: bool = False) -> Request:
    """A validated request from a raw message, or Rejected naming what is wrong."""
    if len(raw) > MAX_MESSAGE:
        raise Rejected(f"message of {len(raw)} bytes is larger than {MAX_MESSAGE}")
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    client = "local root" if local_root else authenticate(msg, cfg)
    subject = str(msg["Subject"] or "")
    by_customer = subject.startswith(("PURGE", "RESET")) and subject[5:].startswith(PROMISE)
    fields = (subject[:5] + " 0 " + subject[5 + len(PROMISE):] if by_customer else subject).split()
    if not 3 <= len(fields) <= 4:
        raise Rejected("subject must be: ACTION STDID CUSTOMERID [EMAIL]")
    action, stdid, custid = fields[:3]
    mail = fields[3] if len(fields) == 4 else ""
    if action not in ACTIONS:
        raise Rejected(f"action {action!r} is not one of {', '.join(ACTIONS)}")
    first, _, last = stdid.partition(",") if action == "RESET" else (stdid, "", "")
    if not ID_RE.match(first) or (last and not ID_RE.match(last)) or not ID_RE.match(custid):
        raise Rejected(f"student id {stdid!r} and customer id {custid!r} must be numbers "
                       f"(RESET also takes a range min,max)")
    for n in () if by_customer else (first, last or first):
        if not cfg["usermin"] <= int(n) <= cfg["usermax"]:
            raise Rejected(f"student id {n} is outside {cfg['usermin']}..{cfg['usermax']}")
    if int(last or first) < int(first):
        raise Rejected(f"student range {stdid} runs backwards")
    if mail and not EMAIL_RE.match(mail):
        raise Rejected(f"e-mail {mail!r} is not an address")
    workshop = ""
    if action != "PURGE":
        body = msg.get_payload(decode=True) if not msg.is_multipart() else b""
        lines = [line.strip() for line in (body or b"").decode("utf-8", "replace").splitlines() if line.strip()]
        workshop = lines[0] if lines else ""
        if not WORKSHOP_RE.match(workshop):
            raise Rejected(f"workshop {workshop[:80]!r} is not a workshop name")
        if re.sub(r"^CHLG-", "WKSHP-", workshop) not in catalogue.workshop_index(cfg):
            raise Rejected(f"workshop {workshop} does not exist on this backend")
    return Request(action, int(first), int(custid), mail, workshop, client, int(last or 0), by_customer)


def authenticate(msg, cfg: dict) -> str:
    """Trust what the api-db really controls and our postfix recorded, never a header it wrote.

    The upstream api-db sends no From: header. local(8) puts the envelope sender (MAIL FROM) on
    top as Return-Path (cleanup drops any Return-Path the client wrote), and our smtpd puts its
    Received: line with the client's address above whatever the client wrote.
    """
    envelope = _address((msg.get_all("Return-Path") or [""])[0])
    if envelope != cfg["sender"].lower():
        raise Rejected(f"envelope sender {envelope!r} is not the mail API sender")
    client = received_from(msg)
    if client is None:
        raise Rejected("not received over SMTP (no client address in the top Received: line)")
    if not any(client in ipaddress.ip_network(net, strict=False) for net in cfg["clients"]):
        raise Rejected(f"client {client} is not an api-db host")
    return str(client)


def received_from(msg) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The client address in the topmost Received: line (the one our postfix added)."""
    top = (msg.get_all("Received") or [""])[0]
    match = re.match(r"^\s*from\s+\S+\s+\([^)]*\[([0-9A-Fa-f:.]+)\]\)", top)
    try:
        return ipaddress.ip_address(match.group(1)) if match else None
    except ValueError:
        return None
