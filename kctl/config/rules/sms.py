"""SMS providers: KC301..KC306 (parameters, replacements, DLT ids, basic auth), and each
template's DLT content rules (KC307..KC311, ``kctl.config.rules.dlt``)."""

from __future__ import annotations

from kctl.config.loader import Node
from kctl.config.rules import dlt as dlt_rules
from kctl.config.rules.base import Claims, Reporter, first_at
from kctl.config.rules.headers import check_secret_value
from kctl.config.rules.templates import check_template_name
from kctl.contract import sms
from kctl.contract.numbers import is_dlt_id


def check_sms(reporter: Reporter, p: Node, path: str) -> None:
    auth = p.get("auth")
    if auth is not None and auth.is_map:
        check_auth(reporter, auth, f"{path}.auth")
    parameters = p.get("parameters")
    if parameters is not None and parameters.is_map:
        check_parameters(reporter, parameters, f"{path}.parameters")
    dlt = p.get("dlt")
    if dlt is not None and dlt.is_map:
        entity = dlt.get("entity_id")
        if entity is not None:
            check_dlt_id(reporter, entity, f"{path}.dlt.entity_id")
    recipients = p.get("test_recipients")
    india = [n for n in (recipients.items() if recipients else []) if _is_indian(n)]
    if india and dlt is None:
        reporter.add(
            "KC004",
            p,
            f"{path}.dlt",
            "missing required key 'dlt': India (+91) recipients need DLT registration",
            'add dlt: {entity_id: "<your 12-19 digit DLT entity id>"}',
        )
    needs_dlt = dlt is not None or bool(india)
    templates = p.get("templates")
    if templates is None:
        return
    entity = dlt.get("entity_id") if dlt is not None else None
    names = Claims()
    for j, t in enumerate(templates.items()):
        if not t.is_map:
            continue
        tpath = f"{path}.templates[{j}]"
        check_template_name(reporter, t, tpath)
        name = t.get("name")
        if name is not None and name.text() and (first := names.earlier(name.value, name)):
            reporter.add(
                "KC401",
                name,
                f"{tpath}.name",
                f"template '{name.value}' is defined twice {first_at(first, name)}",
            )
        dlt_rules.check_template(reporter, t, tpath, entity=entity, sender=p.get("sender"))
        template_id = t.get("dlt_template_id")
        if template_id is not None:
            check_dlt_id(reporter, template_id, f"{tpath}.dlt_template_id")
        elif needs_dlt:
            reporter.add(
                "KC304",
                t,
                f"{tpath}.dlt_template_id",
                f"template '{(name.text() if name else None) or '?'}' lacks dlt_template_id,"
                " required for India (DLT)",
            )


def check_auth(reporter: Reporter, auth: Node, path: str) -> None:
    for key in ("username", "password"):
        node = auth.get(key)
        if node is not None and node.text():
            check_secret_value(reporter, node, f"{path}.{key}", key == "password", f"auth.{key}")
    atype = auth.get("type")
    if atype is None or atype.value != "basic":
        return
    for key in ("username", "password"):
        node = auth.get(key)
        if node is None or not (node.text() or "").strip():
            reporter.add("KC306", node or auth, f"{path}.{key}", f"basic auth needs a {key}")


# the parameters that must carry one replacement each (a missing key is the schema's KC301)
_CARRIES = {"to": sms.TO, "message_id": sms.MESSAGE_ID}
_NEEDED = frozenset(sms.REQUIRED_PARAMETERS + sms.CONTENT_PARAMETERS)


def check_parameters(reporter: Reporter, params: Node, path: str) -> None:
    entries = params.entries()
    used: set[str] = set()
    for entry in entries:
        node = entry.value
        value = node.text() or ""
        sub = f"{path}.{entry.key}"
        tokens = sms.TOKEN.findall(value)
        used.update(tokens)
        if entry.key in _NEEDED and not value.strip():
            reporter.add("KC301", node, sub, f"required parameter '{entry.key}' is empty")
        elif entry.key in _CARRIES and _CARRIES[entry.key] not in tokens:
            reporter.add(
                "KC301",
                node,
                sub,
                f"parameter '{entry.key}' does not carry {_CARRIES[entry.key]}",
                f"write {entry.key}: {_CARRIES[entry.key]}; CleverTap fills it in per message",
            )
        for token in tokens:
            problem = sms.token_problem(token)
            if problem is not None:
                reporter.add("KC302", node, sub, *problem)
    # CleverTap saves a configuration only with $$Body or $$TemplateID in it
    content = " or ".join(f"'{name}'" for name in sms.CONTENT_PARAMETERS)
    if not any(e.key in sms.CONTENT_PARAMETERS for e in entries):
        reporter.add(
            "KC301",
            params,
            path,
            f"missing required parameter {content}",
            f"add body: {sms.BODY}, or for India (DLT) template_id: {sms.TEMPLATE_ID}",
        )
    elif not used & set(sms.CONTENT_REPLACEMENTS):
        reporter.add(
            "KC301",
            params,
            path,
            f"no parameter carries {' or '.join(sms.CONTENT_REPLACEMENTS)}",
            f"write body: {sms.BODY} (or template_id: {sms.TEMPLATE_ID})",
        )


def check_dlt_id(reporter: Reporter, node: Node, path: str) -> None:
    value = node.text()
    if value is not None and not is_dlt_id(value):
        reporter.add("KC305", node, path, f"DLT id '{value}' must be 12 to 19 digits")


def _is_indian(node: Node) -> bool:
    value = node.text()
    return value is not None and value.startswith(sms.DLT_COUNTRY_PREFIX)
