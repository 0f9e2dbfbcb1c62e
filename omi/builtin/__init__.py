"""Plugins that ship with omi-openclaw."""
