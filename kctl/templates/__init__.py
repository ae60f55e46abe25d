"""``kctl templates``: the config's WhatsApp templates as the reviewed source of truth.

* ``meta``: the config's template model to and from Meta's template format (SPEC 4.9).
* ``remote``: fetch templates from Kaleyra (v2 ``message_templates``, v1 ``templates/status``)
  or from a Meta-format file or URL.
* ``yamlout`` / ``merge``: write templates into a config, keeping everything else byte for byte.
* ``pull``: fetch, choose what changes, merge, re-validate, write.
* ``diff``: config against remote, per template and field.
* ``export``: the config's templates as CleverTap's import response, one page or many.
"""
