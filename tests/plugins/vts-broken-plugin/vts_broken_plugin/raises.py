"""Fails to import, as a plugin with a bug would."""

raise RuntimeError("this plugin module fails to import")
