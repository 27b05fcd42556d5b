"""Readers' email addresses: the one spelling stored, counted and sent to for each mailbox.

Mail servers treat `victim@example.com`, `"victim"@example.com`, `"\\victim"@Example.COM` and
`victim@EXAMPLE.com` as one mailbox, and Django's EmailValidator accepts them all; counted
and stored as typed, they let one sign-up form send one inbox a dozen confirmation emails and
store the same reader several times. `normalize_email` gives each mailbox one spelling:

- the domain lower-cased and IDNA-encoded (`bücher.example` is `xn--bcher-kva.example`);
- a quoted local part that needs no quoting unquoted (`"\\victim"` is `victim`); one that does
  need it (`"a..b"`) kept, quoted the one shortest way;
- the local part's case kept as typed, since RFC 5321 lets a server tell `Victim` from
  `victim` and mail goes where the reader said; but identity (the unique constraint, the
  lookups, the rate limits) ignores case (`address_key`), as nearly every mail system does, so
  case variants never make a second subscription or a second quota.

Refused: IP-literal domains (`x@[127.0.0.1]`: a newsletter never needs them, and they aim
mail at internal hosts), a last label of digits alone (`x@127.0.0.01`, which resolvers read
as an address), control characters and empty local parts. Standard library only.
"""

from __future__ import annotations

import re

MAX_LENGTH = 254  # RFC 5321's limit on a path, less the angle brackets
MAX_LOCAL_PART = 64  # RFC 5321: longer local parts are refused by mail servers
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
DOT_ATOM = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
PRINTABLE = re.compile(r"[ -~]+")  # printable ASCII and the space


class InvalidAddress(ValueError):
    """An address no newsletter is sent to, with the reason worded for the reader."""


def normalize_email(address: str) -> str:
    """The one spelling of `address`'s mailbox (see the module docstring), or InvalidAddress.
    Expects an address that Django's EmailValidator accepted; normalising twice changes
    nothing."""
    address = address.strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise InvalidAddress("Enter an address with a part before and after the @.")
    local = _local_part(local)
    domain = _domain(domain)
    if len(local) > MAX_LOCAL_PART:
        raise InvalidAddress("The part before the @ is too long.")
    normalized = f"{local}@{domain}"
    if len(normalized) > MAX_LENGTH:
        raise InvalidAddress("The address is too long.")
    return normalized


def address_key(address: str) -> str:
    """What identifies a mailbox: its normalised spelling, lower-cased. An address that cannot
    be normalised (a row stored before these rules) is its own key, stripped and lower-cased."""
    try:
        return normalize_email(address).lower()
    except InvalidAddress:
        return address.strip().lower()


def _local_part(local: str) -> str:
    if len(local) >= 2 and local.startswith('"') and local.endswith('"'):
        local = QUOTED_PAIR.sub(r"\1", local[1:-1])
        if not local:
            raise InvalidAddress("The part before the @ is empty.")
        if not PRINTABLE.fullmatch(local):
            raise InvalidAddress("The part before the @ has a character mail cannot carry.")
        if DOT_ATOM.fullmatch(local):
            return local
        # Still needs quoting: the one shortest way, so every spelling of it is the same.
        return '"' + local.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if not DOT_ATOM.fullmatch(local):
        raise InvalidAddress("The part before the @ has a character mail cannot carry.")
    return local


def _domain(domain: str) -> str:
    if domain.startswith("["):
        raise InvalidAddress("Give an address at a domain name, not at an IP address.")
    try:
        # Python's "idna" codec (IDNA 2003, as Django's own mail code uses) lower-cases too.
        ascii_domain = domain.lower().encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidAddress("The part after the @ is not a domain name.") from exc
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(labels):
        raise InvalidAddress("Enter the full address, including its domain (example.com).")
    if labels[-1].isdigit():
        raise InvalidAddress("Give an address at a domain name, not at an IP address.")
    return ascii_domain
