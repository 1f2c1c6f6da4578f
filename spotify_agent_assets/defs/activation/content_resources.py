"""The text generator of ``generated_content``: local templates, or an OpenAI-compatible
endpoint when ``CONTENT_LLM_BASE_URL``, ``CONTENT_LLM_MODEL`` and ``CONTENT_LLM_API_KEY`` are
all set (bound as ``dg.EnvVar``; the key is never logged or stored)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

if TYPE_CHECKING:
    from spotify_agent_assets.activation.content_llm import OpenAICompatibleGenerator

ENDPOINT_VARS = ("CONTENT_LLM_BASE_URL", "CONTENT_LLM_MODEL", "CONTENT_LLM_API_KEY")


class ContentGeneratorResource(dg.ConfigurableResource):
    """Off (local templates only) unless the three endpoint settings are set."""

    llm_base_url: str | None = Field(default=None, description="e.g. http://localhost:8000/v1")
    llm_model: str | None = None
    llm_api_key: str | None = Field(default=None, description="Pass dg.EnvVar; never logged.")
    request_timeout_s: float = 30.0
    max_attempts: int = 4

    def endpoint(self) -> OpenAICompatibleGenerator | None:
        """The endpoint generator, None when off; a partial or malformed configuration fails
        naming the variable (never its value)."""
        from spotify_agent_assets.activation.content_llm import OpenAICompatibleGenerator

        values = (self.llm_base_url, self.llm_model, self.llm_api_key)
        if not any(values):
            return None
        missing = [name for name, value in zip(ENDPOINT_VARS, values, strict=True) if not value]
        if missing:
            raise ValueError(
                f"{', '.join(missing)} is not set; set all of {', '.join(ENDPOINT_VARS)} to "
                "write texts with the endpoint, or none to use the local generator"
            )
        base_url, model, api_key = (str(value) for value in values)
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(
                "CONTENT_LLM_BASE_URL is not an http(s) URL; expected e.g. http://host:8000/v1"
            )
        return OpenAICompatibleGenerator(
            base_url=base_url,
            model=model,
            api_key=api_key,
            timeout_s=self.request_timeout_s,
            max_attempts=self.max_attempts,
        )
