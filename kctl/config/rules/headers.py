"""Provider headers and secret references: KC202..KC207 (KC201, a missing header, is schema's)."""

from __future__ import annotations

from urllib.parse import urlsplit

from kctl.config.loader import Node
from kctl.config.rules.base import Reporter, shown
from kctl.config.schema import suggestion
from kctl.contract.channels import CHANNELS, SECRET_HEADERS, URL_HEADERS, Channel
from kctl.contract.kaleyra import HOSTS
from kctl.secrets import parse_reference, reference_problem
from kctl.urls import HOST_NAME_RULE, has_invalid_host, https_url_problem, is_loopback_host


def check_headers(reporter: Reporter, headers: Node, path: str, channel: Channel | None) -> None:
    known = CHANNELS[channel].headers if channel is not None else None
    for entry in headers.entries():
        name, node, sub = entry.key, entry.value, f"{path}.{entry.key}"
        value = node.value
        if channel is not None and known is not None and name not in known:
            other = next((c for c, spec in CHANNELS.items() if name in spec.headers), None)
            hint = suggestion(name, known) or (
                f"'{name}' is for {other} providers"
                if other is not None
                else f"{channel} headers: {', '.join(known)}"
            )
            reporter.add(
                "KC207",
                entry.key_node,
                sub,
                f"header '{name}' is not used by {channel} providers",
                hint,
            )
        if value is None or (isinstance(value, str) and not value.strip()):
            reporter.add("KC202", node, sub, f"header '{name}' is empty")
            continue
        if not isinstance(value, str):
            continue
        check_secret_value(reporter, node, sub, name in SECRET_HEADERS, f"'{name}'")
        if name in URL_HEADERS and parse_reference(value) is None and "${" not in value:
            check_url_header(reporter, node, sub, name, value)


def check_secret_value(
    reporter: Reporter, node: Node, path: str, is_secret: bool, what: str
) -> None:
    value: str = node.value
    problem = reference_problem(value)
    if problem is not None:
        reporter.add(
            "KC206",
            node,
            path,
            f"{what}: {problem}",
            "write ${NAME} for an environment variable or ${keyring:NAME} for the keyring",
        )
    elif is_secret and parse_reference(value) is None:
        reporter.add(
            "KC205",
            node,
            path,
            f"{what} is a secret written as a literal",
            "use ${keyring:NAME} (kctl secrets set NAME) or ${ENV_VAR} instead",
        )


def check_url_header(reporter: Reporter, node: Node, path: str, name: str, value: str) -> None:
    problem = https_url_problem(value)
    if problem is not None:
        reporter.add(
            "KC203",
            node,
            path,
            f"header '{name}' {problem}: '{shown(value)}'",
            HOST_NAME_RULE
            if has_invalid_host(value)
            else "http:// is accepted for 127.0.0.1/localhost only",
        )
        return
    if name != "kaleyra-host":
        return
    host = (urlsplit(value).hostname or "").lower()
    if host not in HOSTS and not is_loopback_host(host):
        reporter.add(
            "KC204",
            node,
            path,
            f"kaleyra-host '{host}' is not a known Kaleyra API domain",
            suggestion(host, HOSTS) or "known: " + ", ".join(HOSTS),
        )
