"""Embeddings answers of the fake provider server (:mod:`.fake_provider`).

Unless a test queued another answer (``fake.reply`` / an error body), the fake answers every
embeddings request as the provider documents it:

- OpenAI and compatibles, ``POST /v1/embeddings`` (Azure: ``POST
  /openai/deployments/<name>/embeddings?api-version=...``): ``input`` a string or an array of
  strings, optional ``dimensions``; answer ``{"object": "list", "data": [{"object":
  "embedding", "index": i, "embedding": [...]}], "model", "usage": {"prompt_tokens",
  "total_tokens"}}``; an empty or missing ``input`` gets the API's 400.
- Ollama, ``POST /api/embed``: ``input`` a string or an array; answer ``{"model",
  "embeddings": [[...]], "total_duration", "load_duration", "prompt_eval_count"}``.

The vectors are deterministic: a hashed bag of words (each lower-cased word adds +1 or -1 to
one of ``dimensions`` coordinates, chosen by its hash), L2-normalised. Texts sharing words are
close, so ranking tests mean something without a real model.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

DEFAULT_DIMENSIONS = 64
_WORD = re.compile(r"\w+", re.UNICODE)
OPENAI_PATH = "/v1/embeddings"
OLLAMA_PATH = "/api/embed"
_AZURE_PATH = re.compile(r"^/openai/deployments/[^/]+/embeddings$")


def fake_vector(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """The fake's embedding of ``text``."""
    vector = [0.0] * dimensions
    for word in _WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        number = int.from_bytes(digest, "big")
        vector[number % dimensions] += 1.0 if number >> 63 else -1.0
    norm = math.sqrt(sum(value * value for value in vector)) or 1.0
    return [round(value / norm, 6) for value in vector]


def is_embeddings_path(path: str) -> bool:
    return path in (OPENAI_PATH, OLLAMA_PATH) or bool(_AZURE_PATH.match(path))


def embeddings_answer(path: str, body: Any) -> tuple[int, dict[str, Any]]:
    """``(status, JSON body)`` answering an embeddings request ``body`` sent to ``path``."""
    body = body if isinstance(body, dict) else {}
    texts = body.get("input")
    if isinstance(texts, str):
        texts = [texts]
    valid = isinstance(texts, list) and texts and all(isinstance(t, str) for t in texts)
    dimensions = body.get("dimensions") or DEFAULT_DIMENSIONS
    model = body.get("model") or ""
    if path == OLLAMA_PATH:
        if not valid or not model:
            return 400, {"error": "invalid input type" if model else "model is required"}
        return 200, {
            "model": model,
            "embeddings": [fake_vector(text, dimensions) for text in texts],
            "total_duration": 14143917, "load_duration": 1019500,
            "prompt_eval_count": sum(len(_WORD.findall(text)) for text in texts),
        }
    if not valid or any(not text for text in texts):
        return 400, {"error": {"message": "'$.input' is invalid. Please check the API reference: "
                                          "https://platform.openai.com/docs/api-reference.",
                               "type": "invalid_request_error", "param": None, "code": None}}
    tokens = sum(len(_WORD.findall(text)) for text in texts)
    return 200, {
        "object": "list",
        "data": [{"object": "embedding", "index": index,
                  "embedding": fake_vector(text, dimensions)}
                 for index, text in enumerate(texts)],
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
