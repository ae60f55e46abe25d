"""Testing aids for projects that build on kctl: the pytest plugin (``pytest_plugin``)."""
