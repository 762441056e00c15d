"""Claude as the ``Analyzer``: one Messages API request per attempt, structured JSON output.

The SDK's own retries are off (``max_retries=0``): the ``analyze`` job retries durably with our
rules, so this adapter only sends one request and names what went wrong. The long static rubric
is a system block marked for prompt caching; the per-call part is the user message.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from typing import Any

import anthropic
import httpx2

from domain.analysis import (
    AnalysisPrompt,
    AnalyzerRefused,
    AnalyzerUnavailable,
    InvalidAnalysis,
    ModelAnswer,
)
from providers.http_bridge import HttpClientFactory, HttpxBridgeTransport

#: Below the job lease (120 s), so a slow answer never outlives its attempt.
DEFAULT_TIMEOUT_S = 90.0
MAX_TOKENS = 4096


def retry_after_s(headers: httpx2.Headers | None) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if headers is None:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _is_spend_limit(exc: anthropic.APIStatusError) -> bool:
    code = getattr(exc, "error_code", None) or ""
    return "spend_limit" in code or "spend limit" in str(exc).lower()


def classify(exc: anthropic.APIError) -> AnalyzerRefused | AnalyzerUnavailable:
    """Our failure for an SDK error: retryable unless no retry can help."""
    if isinstance(exc, anthropic.APITimeoutError):
        return AnalyzerUnavailable("Claude did not answer in time")
    if isinstance(exc, anthropic.APIConnectionError):
        return AnalyzerUnavailable("Claude could not be reached")
    if not isinstance(exc, anthropic.APIStatusError):
        return AnalyzerRefused("Claude request failed")
    status = exc.status_code
    after = retry_after_s(exc.response.headers)
    if status == 429 and _is_spend_limit(exc):
        return AnalyzerRefused("Claude spend limit reached (HTTP 429); not retried")
    if status == 429:
        return AnalyzerUnavailable("Claude rate limit (HTTP 429)", retry_after_s=after)
    if status == 529:
        return AnalyzerUnavailable("Claude is overloaded (HTTP 529)", retry_after_s=after)
    if status >= 500 or status in (408, 409):
        return AnalyzerUnavailable(f"Claude server error (HTTP {status})", retry_after_s=after)
    return AnalyzerRefused(f"Claude refused the request (HTTP {status})")


class ClaudeAnalyzer:
    """Implements ``domain.analysis.Analyzer`` with ``anthropic.AsyncAnthropic``."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None,
        model: str,
        http_client: HttpClientFactory,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._model = model
        self.timeout_s = timeout_s
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            http_client=httpx2.AsyncClient(transport=HttpxBridgeTransport(http_client)),
            max_retries=0,
            timeout=httpx2.Timeout(timeout_s, connect=10.0),
        )

    @property
    def model(self) -> str:
        return self._model

    async def analyze(self, prompt: AnalysisPrompt) -> ModelAnswer:
        system: Any = [
            {"type": "text", "text": prompt.instructions, "cache_control": {"type": "ephemeral"}}
        ]
        try:
            # Also bounded here: an in-process transport (tests) enforces no socket timeout.
            message = await asyncio.wait_for(
                self._client.messages.create(
                    model=self._model,
                    max_tokens=MAX_TOKENS,
                    system=system,
                    messages=[{"role": "user", "content": prompt.user_message}],
                    output_config={
                        "format": {"type": "json_schema", "schema": prompt.output_schema}
                    },
                ),
                timeout=self.timeout_s,
            )
        except TimeoutError:
            raise AnalyzerUnavailable(
                f"Claude did not answer within {self.timeout_s:g} s"
            ) from None
        except anthropic.APIError as exc:
            raise classify(exc) from None
        if message.stop_reason == "max_tokens":
            raise InvalidAnalysis("Claude's answer was cut off (max_tokens)")
        if message.stop_reason == "refusal":
            raise InvalidAnalysis("Claude declined to answer")
        text = "".join(block.text for block in message.content if block.type == "text")
        try:
            data = json.loads(text)
        except ValueError:
            raise InvalidAnalysis("Claude's answer is not JSON") from None
        usage = message.usage
        return ModelAnswer(
            data=data,
            model=message.model,
            usage={
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cache_read_input_tokens": usage.cache_read_input_tokens or 0,
                "cache_creation_input_tokens": usage.cache_creation_input_tokens or 0,
            },
        )
