"""Presets: the preset format, loading and saving (:mod:`midivae.presets.preset`), and the
shipped presets as package data (``shipped/<name>/``: ``preset.json`` + ``model.safetensors``).
"""
