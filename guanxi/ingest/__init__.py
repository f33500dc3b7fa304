"""Imports: readers, platform presets, validation, quarantine, the data-quality report."""
