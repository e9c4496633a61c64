"""Imports a target by name, as LiteLLM's modules do (``from x import f``)."""
from plugins.targets import add  # noqa: F401
