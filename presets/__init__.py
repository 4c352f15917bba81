"""Shipped presets, installed as package data ``midivae/presets`` (one folder per preset)."""
