"""The one JUnit XML writer: validate-config's findings and send-test's exchange both end here.

CI dashboards (GitLab, Jenkins, GitHub test reporters) read the common subset: ``testsuites``
with ``testsuite`` elements of ``testcase``s, a ``failure`` (message, type, text) or
``system-out`` per case, and the counts and times as attributes.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field


@functools.cache
def _xml_forbidden() -> re.Pattern[str]:
    # XML 1.0 cannot carry most C0 controls, lone surrogates or U+FFFE/U+FFFF at all; this
    # class takes about 6 ms to compile, and only JUnit output needs it.
    return re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry, even as character references."""
    return _xml_forbidden().sub("", text)


@dataclass(frozen=True, slots=True)
class Failure:
    message: str
    type: str
    text: str


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    classname: str
    failure: Failure | None = None
    output: str | None = None  # system-out
    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Suite:
    name: str
    cases: list[Case] = field(default_factory=list)
    seconds: float | None = None


def junit_document(name: str, suites: list[Suite]) -> str:
    """One JUnit XML document (with its declaration) for ``suites``."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name=xml_safe(name))
    total_tests = total_failures = 0
    for suite in suites:
        element = ET.SubElement(root, "testsuite", name=xml_safe(suite.name))
        failures = 0
        for case in suite.cases:
            attributes = {"classname": xml_safe(case.classname), "name": xml_safe(case.name)}
            if case.seconds is not None:
                attributes["time"] = f"{case.seconds:.3f}"
            item = ET.SubElement(element, "testcase", attributes)
            if case.failure is not None:
                failures += 1
                failure = ET.SubElement(
                    item,
                    "failure",
                    type=xml_safe(case.failure.type),
                    message=xml_safe(case.failure.message),
                )
                failure.text = xml_safe(case.failure.text)
            if case.output is not None:
                ET.SubElement(item, "system-out").text = xml_safe(case.output)
        element.set("tests", str(len(suite.cases)))
        element.set("failures", str(failures))
        element.set("errors", "0")
        if suite.seconds is not None:
            element.set("time", f"{suite.seconds:.3f}")
        total_tests += len(suite.cases)
        total_failures += failures
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    root.set("errors", "0")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'
