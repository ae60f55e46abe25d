"""SMS templates against India's DLT: KC307..KC311.

A template's body is what kctl (and CleverTap) fills and sends, so it is the body that must be
the registered text, character for character. The registered text comes from the template's
``dlt_text`` or from the registry given with ``--dlt-registry``; the registry also knows the
entity and header each template is registered with.
"""

from __future__ import annotations

from kctl.config.loader import Node
from kctl.config.rules.base import Reporter
from kctl.contract import dlt
from kctl.contract.encoding import Encoding, sms_size
from kctl.contract.numbers import is_dlt_id


def check_template(
    reporter: Reporter, t: Node, path: str, *, entity: Node | None, sender: Node | None
) -> None:
    body = t.get("body")
    text = body.text() if body is not None else None
    if body is None or text is None:
        return
    for index, token in dlt.lookalike_variables(text):
        reporter.add_inside(
            "KC307",
            body,
            f"{path}.body",
            f"'{token}' is not a DLT variable: the platforms mark a variable {dlt.VARIABLE},"
            " exactly",
            f"write {dlt.VARIABLE}; anything else is static text the message must contain",
            at=index,
        )
    for index in dlt.adjacent_variables(text):
        reporter.add_inside(
            "KC308",
            body,
            f"{path}.body",
            "two variables in a row: DLT needs static text between them",
            "merge them into one {#var#}, or put words between them",
            at=index,
        )
    check_segments(reporter, body, text, f"{path}.body")
    check_registration(reporter, t, path, body, entity=entity, sender=sender)


def check_segments(reporter: Reporter, body: Node, text: str, path: str) -> None:
    size = sms_size(dlt.longest(text))
    if size.parts <= 1:
        return
    hint = f"one SMS holds {size.single_limit} {size.encoding} characters"
    if size.extended:
        hint += f"; {' '.join(size.extended)} count 2 each"
    if size.encoding is Encoding.UCS2:
        shown = ", ".join(_char(c) for c in size.forcing[:5])
        hint += f"; the text is {Encoding.UCS2} because of {shown}"
    reporter.add(
        "KC311",
        body,
        path,
        f"at its longest (each {dlt.VARIABLE} {dlt.VARIABLE_LIMIT} characters) the text is"
        f" {size.units} {size.encoding} units: {size.parts} SMS parts, each billed",
        hint,
    )


def _char(char: str) -> str:
    return f"'{char}' (U+{ord(char):04X})"


def check_registration(
    reporter: Reporter,
    t: Node,
    path: str,
    body: Node,
    *,
    entity: Node | None,
    sender: Node | None,
) -> None:
    id_node = t.get("dlt_template_id")
    template_id = id_node.text() if id_node is not None else None
    own = t.get("dlt_text")
    own_text = own.text() if own is not None else None
    registry = reporter.registry
    row = None
    if registry is not None and id_node is not None and template_id and is_dlt_id(template_id):
        row = registry.get(template_id)
        if row is None:
            reporter.add(
                "KC310",
                id_node,
                f"{path}.dlt_template_id",
                f"DLT template {template_id} is not in the registry {registry.file}",
                "check the id against the DLT platform, or export the registry again",
            )
        else:
            _check_chain(reporter, row, id_node, path, entity=entity, sender=sender)
    if row is not None:
        _compare(reporter, body, f"{path}.body", registered=row.text, where=row.source)
        if own is not None and own_text is not None:
            _compare(reporter, own, f"{path}.dlt_text", registered=row.text, where=row.source)
    elif own is not None and own_text is not None:
        where = f"dlt_text, line {own.line}"
        _compare(reporter, body, f"{path}.body", registered=own_text, where=where)


def _compare(reporter: Reporter, node: Node, path: str, *, registered: str, where: str) -> None:
    text = node.text() or ""
    what = path.rsplit(".", 1)[-1]
    index = dlt.first_difference(text, registered)
    if index is None:
        return
    found = dlt.Mismatch(
        index,
        index,
        registered[index] if index < len(registered) else "",
        text[index] if index < len(text) else "",
    )
    reporter.add_inside(
        "KC309",
        node,
        path,
        f"{what} differs from the registered DLT text ({where}): {found.describe(f'the {what}')}",
        f'registered "{dlt.excerpt(registered, index)}", {what} "{dlt.excerpt(text, index)}"',
        at=index,
    )


def _check_chain(
    reporter: Reporter,
    row: dlt.Registration,
    id_node: Node,
    path: str,
    *,
    entity: Node | None,
    sender: Node | None,
) -> None:
    entity_id = entity.text() if entity is not None else None
    header = sender.text() if sender is not None else None
    problem = dlt.chain_problem(row, entity_id=entity_id, header=header)
    if problem is None:
        return
    code, message = problem
    where = sender if code == dlt.HEADER_NOT_REGISTERED else entity
    line = f" (line {where.line})" if where is not None else ""
    reporter.add(
        "KC310",
        id_node,
        f"{path}.dlt_template_id",
        f"{message}{line}: operators refuse it (failure {code})",
        f"the registry says: entity {row.entity_id}, header {row.header} ({row.source})",
    )
