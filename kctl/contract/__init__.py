"""Every fact of the wire and config contract (SPEC sections 1 and 4), declared once.

The builder, the sandbox, listen, the rules, the schema and the renderers read these modules; a
producer and its consumer can no longer disagree, because neither owns the fact. Nothing here
imports anything else from kctl (but ``kctl.lean``, the base of its value classes, which
imports nothing from kctl either), does I/O or keeps state.

Where CleverTap's or Kaleyra's pages contradict themselves, the module that declares the fact
says which variants the consumers accept and which one kctl sends.
"""
