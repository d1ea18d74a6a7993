"""Which local addresses listen on a TCP port, read from ``/proc/net/tcp`` and ``tcp6``.

``doctor`` uses it to warn when the web app is reachable from the network over plain HTTP
(sign-ins and session cookies in clear text) instead of on loopback behind the TLS proxy.
Reading /proc needs no privileges and no ``ss`` binary.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from pathlib import Path

LISTEN_STATE = "0A"
PROC_FILES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))


def _address(hex_addr: str) -> str:
    """A /proc hex address (host byte order per 32-bit word) as text."""
    raw = bytes.fromhex(hex_addr)
    words = struct.unpack(f"<{len(raw) // 4}I", raw)
    packed = struct.pack(f">{len(words)}I", *words)
    family = socket.AF_INET if len(packed) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, packed)


def listening_addresses(port: int, files: tuple[Path, ...] = PROC_FILES) -> list[str] | None:
    """Addresses listening on ``port`` (e.g. ['127.0.0.1', '::']); None when /proc is absent."""
    found: list[str] = []
    readable = False
    for path in files:
        try:
            lines = path.read_text().splitlines()[1:]
        except OSError:
            continue
        readable = True
        for line in lines:
            fields = line.split()
            if len(fields) < 4 or fields[3] != LISTEN_STATE:
                continue
            addr, _, hex_port = fields[1].partition(":")
            if int(hex_port, 16) == port:
                found.append(_address(addr))
    return sorted(set(found)) if readable else None


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback
