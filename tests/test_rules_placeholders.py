"""KC405 over any run of placeholders: reported exactly when one is not a number or the
numbers do not run 1..n without gaps, whatever the order and repeats."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kctl.config.loader import load_text
from kctl.config.validate import check_document

TOKENS = st.lists(st.sampled_from(["1", "2", "3", "4", "0", "01", " 1", "x", "²", "10"]))

CONFIG = """\
version: 1
providers:
  - nickname: wa
    channel: whatsapp
    endpoint: https://ct-adapter.example.com/whatsapp
    business_number: "+919876543210"
    headers:
      api-key: ${{KALEYRA_API_KEY}}
      sid: HXIN1234567890
      kaleyra-host: https://api.kaleyra.io/
      inbound-message-callback-url: https://in1.example-clevertap.com/wa/inbound/abc
      delivery-report-callback-url: https://in1.example-clevertap.com/wa/dlr/abc
    templates:
      - name: t
        language: en
        body: '{body}'
"""


def _is_wrong(tokens: list[str]) -> bool:
    if any(not (t.isascii() and t.isdigit()) for t in tokens):
        return True
    numbers = {int(t) for t in tokens}
    return bool(numbers) and numbers != set(range(1, max(numbers) + 1))


@given(TOKENS)
def test_kc405_exactly_when_the_placeholders_do_not_run_from_1(tokens: list[str]) -> None:
    body = "Hi " + " and ".join(f"{{{{{t}}}}}" for t in tokens) + "."
    doc = load_text("x.yaml", CONFIG.format(body=body))
    codes = [f.code for f in check_document(doc) if f.path.endswith(".body")]
    assert ("KC405" in codes) == _is_wrong(tokens), (body, codes)
