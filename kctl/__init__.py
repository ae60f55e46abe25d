"""kctl: configuration as code for Kaleyra as a CleverTap Generic WhatsApp/SMS provider."""

__version__ = "0.1.0"
# The name on the package index; the command stays `kctl`. "kctl" and dozens of "kctl-*" names
# there belong to unrelated projects, so `pip install kctl` would install someone else's code.
DISTRIBUTION = "kaleyra-clevertap-kctl"
