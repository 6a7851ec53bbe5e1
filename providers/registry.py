"""Which wire module speaks a provider's API format.

Apart from :mod:`.base` so that the interface does not import its own implementations: the wire
modules import the interface, and only this module, above both, names them all.
"""

from . import anthropic, ollama, openai
from .base import Provider, ProviderConfig

_CLASSES = {
    "openai": openai.OpenAIProvider,
    "anthropic": anthropic.AnthropicProvider,
    "ollama": ollama.OllamaProvider,
}


def get_provider(config: ProviderConfig) -> Provider:
    """The wire module for ``config.api_format``."""
    return _CLASSES[config.api_format](config)
