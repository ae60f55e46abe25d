"""An SMS's encoding, parts and DLT verdict, as send-test and preview show them."""

from __future__ import annotations

from kctl.contract.encoding import SmsSize
from kctl.send.dlt import DltVerdict

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from typing import Any

_FORCING_SHOWN = 5  # characters named as the reason for UCS-2; the rest are "..."


def char_name(char: str) -> str:
    return f"'{char}' U+{ord(char):04X}" if char.isprintable() else f"U+{ord(char):04X}"


def size_text(size: SmsSize) -> str:
    """One line: "GSM-7, 45 of 160 units: 1 part", "UCS-2 (because of 'न' U+0928), ..."."""
    encoding = str(size.encoding)
    if size.forcing:
        names = ", ".join(char_name(c) for c in size.forcing[:_FORCING_SHOWN])
        more = ", ..." if len(size.forcing) > _FORCING_SHOWN else ""
        encoding += f" (because of {names}{more})"
    units = (
        f"{size.units} of {size.single_limit} units" if size.parts == 1 else f"{size.units} units"
    )
    extended = f" ({' '.join(size.extended)} count 2)" if size.extended else ""
    parts = "1 part" if size.parts == 1 else f"{size.parts} parts of up to {size.limit}"
    return f"{encoding}, {units}{extended}: {parts}"


def size_data(size: SmsSize) -> dict[str, Any]:
    return {
        "encoding": str(size.encoding),
        "units": size.units,
        "parts": size.parts,
        "units_per_part": size.limit,
        "forcing_ucs2": list(size.forcing),
        "extended": list(size.extended),
    }


def dlt_data(verdict: DltVerdict | None) -> dict[str, Any] | None:
    if verdict is None:
        return None
    registration = verdict.registration
    mismatch = verdict.mismatch
    return {
        "checked": verdict.checked,
        "passed": verdict.passed,
        "note": verdict.note,
        "template_id": registration.template_id if registration else None,
        "registered_text": registration.text if registration else None,
        "code": verdict.code,
        "problem": verdict.problem,
        # 1-based, as the messages count
        "position": mismatch.position + 1 if mismatch is not None else None,
    }
