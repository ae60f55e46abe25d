"""``kctl templates pull``: decide what the remote templates change in a config, merge, check,
write.

Only APPROVED templates are taken. A template the config already has is left alone when it
matches, replaced field by field with ``force``, and otherwise kept and reported (the exit code
then says drift remains). Templates only in the config stay. A remote template the config could
not hold (an unsupported feature, or one that breaks a config rule, such as a language code kctl
does not know) is skipped with the reason. The merged text is validated and re-read before it is
written, atomically, keeping the file's mode, byte-order mark and line breaks.
"""

from __future__ import annotations

import codecs
import difflib
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kctl.config.findings import Report, Severity
from kctl.config.loader import Document, load_text
from kctl.config.model import WhatsAppProvider, WhatsAppTemplate, provider_from_node
from kctl.config.quoted import quoted_source
from kctl.config.validate import check_document
from kctl.errors import ConfigInvalid, UsageError
from kctl.templates.merge import merge_templates
from kctl.templates.meta import RemoteTemplate, template_key
from kctl.templates.yamlout import TEMPLATE_KEYS, template_data, template_lines

ADD, UPDATE, SAME, KEEP, SKIP = "add", "update", "same", "keep", "skip"


@dataclass(frozen=True, slots=True)
class PullItem:
    name: str
    language: str
    action: str  # add, update, same, keep (differs; needs --force), skip
    detail: str = ""  # the fields that differ, or why it was skipped

    @property
    def label(self) -> str:
        return f"{self.name} ({self.language})"


@dataclass(frozen=True, slots=True)
class PullOutcome:
    target: Path
    source: str
    items: tuple[PullItem, ...]
    only_in_config: tuple[str, ...]  # labels of templates the remote does not have
    written: bool
    preview: str  # unified diff of the file (what --dry-run shows)

    @property
    def kept(self) -> list[PullItem]:
        return [i for i in self.items if i.action == KEEP]

    @property
    def exit_code(self) -> int:
        return 1 if self.kept else 0


def plan_pull(
    existing: Sequence[WhatsAppTemplate], remote: Sequence[RemoteTemplate], *, force: bool
) -> tuple[list[PullItem], list[WhatsAppTemplate]]:
    """What happens to each remote template, and the templates to merge (adds and updates)."""
    mine = {template_key(t): t for t in existing}
    items: list[PullItem] = []
    writes: list[WhatsAppTemplate] = []
    for r in remote:
        t = r.template
        skip = _skip_reason(r)
        if skip:
            items.append(PullItem(t.name, t.language, SKIP, skip))
            continue
        old = mine.get(r.key)
        if old is None:
            items.append(PullItem(t.name, t.language, ADD))
            writes.append(t)
            continue
        fields = changed_fields(old, t)
        if not fields:
            items.append(PullItem(t.name, t.language, SAME))
        elif force:
            items.append(PullItem(t.name, t.language, UPDATE, ", ".join(fields)))
            writes.append(t)
        else:
            items.append(PullItem(t.name, t.language, KEEP, ", ".join(fields)))
    return items, writes


def _skip_reason(r: RemoteTemplate) -> str:
    if not r.has_content:
        return "the source gave its status only, no content"
    if not r.is_approved:
        return f"status {r.status}"
    if r.unsupported:
        return "uses " + ", ".join(r.unsupported) + ", which a kctl config cannot express"
    problems = template_problems(r.template)
    if problems:
        return "breaks the config rules: " + "; ".join(problems)
    return ""


def changed_fields(old: WhatsAppTemplate, new: WhatsAppTemplate) -> list[str]:
    a, b = template_data(old), template_data(new)
    return [k for k in TEMPLATE_KEYS if a.get(k) != b.get(k)]


# A provider that passes every rule, to check one template on its own.
_PROBE = """version: 1
providers:
  - nickname: probe
    channel: whatsapp
    endpoint: https://probe.example.com/whatsapp
    business_number: "+919876543210"
    headers:
      api-key: ${KCTL_PROBE}
      sid: probe
      kaleyra-host: https://api.kaleyra.io
      inbound-message-callback-url: https://probe.example.com/in
      delivery-report-callback-url: https://probe.example.com/dlr
    templates:
"""
_PROBE_PATH = "providers[0].templates[0]"


def template_problems(t: WhatsAppTemplate) -> list[str]:
    """The config-rule errors ``t`` has on its own (code and message each)."""
    text = _PROBE + "\n".join(template_lines(t, 6)) + "\n"
    findings = check_document(load_text("<template>", text))
    return [
        f"{f.code} {f.message}"
        for f in findings
        if f.severity is Severity.ERROR and f.path.startswith(_PROBE_PATH)
    ]


# --- merge, check, write ------------------------------------------------------------------------


def pull(
    config: str,
    provider: WhatsAppProvider,
    remote: Sequence[RemoteTemplate],
    source: str,
    *,
    output: Path | None = None,
    force: bool = False,
    dry_run: bool = False,
) -> PullOutcome:
    from kctl.files import write_atomic

    target = output if output is not None else Path(config)
    base, bom, mode, is_new = _read_target(target, Path(config))
    existing = _templates_in(base, target, provider.nickname)
    items, writes = plan_pull(existing, remote, force=force)
    new_text = merge_templates(base, provider.nickname, writes) if writes else base
    if writes:
        _check_merge(new_text, target, provider.nickname, existing, writes)
    remote_keys = {r.key for r in remote}
    only_mine = tuple(t.label for t in existing if template_key(t) not in remote_keys)
    old_text = "" if is_new else base
    preview = "".join(
        difflib.unified_diff(
            old_text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            fromfile=f"{target} (before)",
            tofile=f"{target} (after)",
        )
    )
    written = False
    if not dry_run and (new_text != old_text):
        write_atomic(target, (codecs.BOM_UTF8.decode() if bom else "") + new_text, mode=mode)
        written = True
    return PullOutcome(target, source, tuple(items), only_mine, written, preview)


def _read_target(target: Path, config: Path) -> tuple[str, bool, int | None, bool]:
    """The text to merge into (the target's, or the config's when the target is new: missing
    or blank), whether it starts with a byte-order mark, the mode to keep, and whether the
    target is new. Each file is read once."""
    try:
        data = target.read_bytes()
        mode: int | None = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        data, mode = b"", None
    except OSError as e:
        raise UsageError(f"cannot read {target}: {e.strerror or e}") from e
    is_new = not data.strip()
    source = config if is_new else target
    if is_new:
        try:
            data = config.read_bytes()
        except OSError as e:
            raise UsageError(f"cannot read {config}: {e.strerror or e}") from e
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UsageError(f"{source} is not UTF-8 text") from e
    return text, data.startswith(codecs.BOM_UTF8), mode, is_new


def _load_checked(text: str, target: Path) -> tuple[Document, Report | None]:
    """``text`` loaded and validated, with the report to show when it has errors (or holds
    no document at all)."""
    doc = load_text(str(target), text)
    findings = check_document(doc)
    if doc.root is not None and not any(f.severity is Severity.ERROR for f in findings):
        return doc, None
    sources = {doc.file: quoted_source(text, (f.line for f in findings))}
    return doc, Report(files=[doc.file], findings=findings, sources=sources)


def _templates_in(text: str, target: Path, nickname: str) -> list[WhatsAppTemplate]:
    doc, errors = _load_checked(text, target)
    if errors is not None:
        raise ConfigInvalid(
            f"{target} has {errors.error_count} error(s); fix them before pulling into it",
            f"kctl validate-config {target}",
            report=errors,
        )
    return _provider_templates(doc, target, nickname)


def _provider_templates(doc: Document, target: Path, nickname: str) -> list[WhatsAppTemplate]:
    """The templates of provider ``nickname`` in ``doc`` (a document without errors)."""
    assert doc.root is not None
    providers = doc.root.get("providers")
    for node in providers.items() if providers is not None else []:
        nick = node.get("nickname")
        if nick is not None and nick.value == nickname:
            found = provider_from_node(node)
            if not isinstance(found, WhatsAppProvider):
                raise UsageError(f"provider '{nickname}' in {target} is not a WhatsApp provider")
            return list(found.templates)
    raise UsageError(
        f"{target} has no provider '{nickname}'", "pull into a config that has this provider"
    )


def _check_merge(
    text: str,
    target: Path,
    nickname: str,
    existing: Sequence[WhatsAppTemplate],
    writes: Sequence[WhatsAppTemplate],
) -> None:
    """The merged text must validate and hold exactly the intended templates; else nothing is
    written."""
    doc, errors = _load_checked(text, target)
    if errors is not None:
        raise ConfigInvalid(
            "merging the pulled templates would leave the config with errors; nothing written",
            "pull into a new file with --output, or fix the config by hand",
            report=errors,
        )
    incoming = {template_key(t): t for t in writes}
    expected = [incoming.pop(template_key(t), t) for t in existing] + list(incoming.values())
    got = _provider_templates(doc, target, nickname)
    if [_bare(t) for t in got] != [_bare(t) for t in expected]:
        raise RuntimeError(
            "the merged config does not hold the intended templates; nothing written"
        )


def _bare(t: WhatsAppTemplate) -> WhatsAppTemplate:
    return t.replace(line=0)
