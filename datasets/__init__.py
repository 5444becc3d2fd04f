"""Data files bundled with keras-zoo, with their cards; read with importlib.resources."""
