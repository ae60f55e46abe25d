"""kctl: configuration as code for Kaleyra as a CleverTap Generic WhatsApp/SMS provider."""

__version__ = "0.1.0"
