"""The standard-library steps under the online checks: a DNS lookup and a TCP connect, each
bounded by a timeout, and the words that say why one failed."""

from __future__ import annotations

import socket
import threading
from typing import Any

from kctl.doctor.check import seconds


def resolve(host: str, port: int, timeout: float) -> list[tuple[Any, ...]]:
    """getaddrinfo within ``timeout``: the call itself has none, so it runs on a daemon thread
    that is abandoned (not waited for) when it takes too long."""
    result: list[tuple[Any, ...]] = []
    errors: list[BaseException] = []

    def lookup() -> None:
        try:
            result.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except BaseException as e:  # handed to the caller, not lost in the thread
            errors.append(e)

    worker = threading.Thread(target=lookup, name=f"kctl-doctor-dns:{host}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {seconds(timeout)}")
    if errors:
        raise errors[0]
    if not result:
        raise socket.gaierror(socket.EAI_NONAME, "no addresses")
    return result


def connect(infos: list[tuple[Any, ...]], port: int, timeout: float) -> tuple[socket.socket, str]:
    """A connected socket to the first address that answers, and that address."""
    last: OSError | None = None
    for family, kind, proto, _, resolved in infos:
        # the lookup was made for one of the host's ports; this target may use another
        sockaddr = (resolved[0], port, *resolved[2:])
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
        except OSError as e:
            sock.close()
            last = e
            continue
        host = str(sockaddr[0])
        return sock, (f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    raise last if last is not None else OSError("no addresses to connect to")


def dns_reason(e: OSError, timeout: float) -> str:
    if isinstance(e, TimeoutError):
        return f"no DNS answer within {seconds(timeout)}"
    if isinstance(e, socket.gaierror):
        return f"does not resolve: {e.strerror or e}"
    return f"lookup failed: {e.strerror or e}"


def connect_reason(e: OSError, timeout: float) -> tuple[str, str | None]:
    if isinstance(e, ConnectionRefusedError):
        return "connection refused", "nothing listens on that port: check the port in the URL"
    if isinstance(e, TimeoutError):
        return (
            f"no connection within {seconds(timeout)}",
            "a firewall may be dropping the connection; check the host and port, and whether "
            "this network needs a proxy (HTTPS_PROXY)",
        )
    return f"cannot connect: {e.strerror or e}", None
