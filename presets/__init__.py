"""Built-in vertcut presets (TOML data), installed as the ``vertcut.preset_data`` package."""
