"""``kctl doctor``: what kctl would use on this machine, and whether it works.

Each finding is a ``Check`` value. ``run_doctor`` collects them and never prints; ``render_checks``
turns them into a terminal table or one JSON document. Checks that saw a secret carry it in
``Check.secrets`` (never rendered, never in ``repr``) so that the renderer's ``Masker`` hides it
wherever it might surface: details are written with masked values already, the Masker is the
second line of defence (a keyring or httpx error message quoting a value, say).

One module per concern, in the order the checks come out:

* ``install``: the Python and package versions;
* ``keyring_backend``: the keyring backend, by a round trip of a throw-away entry;
* ``proxies`` and ``trust``: proxy and CA settings, read through ``kctl.send.netenv`` as the
  transport reads them;
* ``config``: with a config, whether it loads and where every secret reference resolves from;
* ``hosts``: the hosts the config names and the route to each (direct, or which proxy);
* ``online`` (with ``probes``): DNS, TCP and TLS for those hosts and the proxies in the way;
* ``render``: the table or the JSON document.
"""

from __future__ import annotations

from kctl.doctor.check import Check, overall_exit_code
from kctl.doctor.config import load_config, secret_checks, uses_keyring
from kctl.doctor.install import install_checks
from kctl.doctor.keyring_backend import DOCTOR_SERVICE, keyring_check
from kctl.doctor.online import network_checks
from kctl.doctor.proxies import proxy_checks, shown_proxy
from kctl.doctor.render import render_checks
from kctl.doctor.trust import ca_checks
from kctl.errors import UsageError

__all__ = [
    "DOCTOR_SERVICE",
    "Check",
    "overall_exit_code",
    "render_checks",
    "run_doctor",
    "shown_proxy",
]


def run_doctor(config: str | None, online: bool, timeout: float = 3.0) -> list[Check]:
    """Every check, in the order a reader wants them: install, environment, config, network.

    ``online`` allows DNS lookups and connections to the hosts the config names (and to the
    proxies that reach them); without it nothing leaves the machine. ``timeout`` bounds each
    lookup, connection and handshake. Raises UsageError only for a bad ``timeout``: every
    other problem is a failed Check.
    """
    if not timeout > 0:
        raise UsageError(f"timeout must be more than 0 seconds, not {timeout:g}")
    account, config_checks = load_config(config)
    checks = install_checks()
    checks.append(keyring_check(None if account is None else uses_keyring(account)))
    checks += proxy_checks()
    checks += ca_checks()
    checks += config_checks
    if account is not None:
        checks += secret_checks(account)
    checks += network_checks(account, config, online, timeout)
    return checks
