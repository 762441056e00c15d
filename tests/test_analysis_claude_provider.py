"""The Claude adapter against the Claude twin: one request per attempt, each failure named so
the job can apply our retry rules, and strict validation of what comes back."""

from __future__ import annotations

from typing import Any

import httpx
import httpx2
import pytest

from domain.analysis import (
    AnalysisPrompt,
    AnalyzerError,
    AnalyzerRefused,
    AnalyzerUnavailable,
    InvalidAnalysis,
    Turn,
)
from domain.analysis_evidence import measure
from domain.analysis_prompt import CallContext, build_prompt
from domain.analysis_validation import parse_result
from main import Runtime
from providers.claude import ClaudeAnalyzer, retry_after_s
from tests.analysis_harness import RICH, queue_faults, quiesce

TURNS = [Turn(role, text, start, end) for role, text, start, end in RICH]


def prompt() -> AnalysisPrompt:
    context = CallContext(topic_title="Travel", topic_description=None, target_level="B2",
                          explanation_language="en")
    return build_prompt(context, TURNS, measure(TURNS))


def analyzer(runtime: Runtime, *, model: str = "claude-sonnet-4-6",
             timeout_s: float = 30.0) -> ClaudeAnalyzer:
    return ClaudeAnalyzer(api_key="sandbox_anthropic", base_url=runtime.settings.anthropic_base_url,
                          model=model, http_client=runtime.http_client, timeout_s=timeout_s)


async def test_a_valid_answer_is_parsed_with_its_usage(runtime: Runtime) -> None:
    answer = await analyzer(runtime).analyze(prompt())

    result = parse_result(answer.data)
    assert answer.model == "claude-sonnet-4-6"
    assert (result.cefr_level.value, result.grammar) == ("C1", 77)
    assert answer.usage["input_tokens"] > 0 and answer.usage["output_tokens"] > 0


@pytest.mark.parametrize(("fault", "expected_type", "reason", "retry_after"), [
    pytest.param({"status": 529, "retry_after": 7}, AnalyzerUnavailable,
                 "Claude is overloaded (HTTP 529)", 7.0, id="overloaded"),
    pytest.param({"status": 429}, AnalyzerUnavailable, "Claude rate limit (HTTP 429)", None,
                 id="rate-limited"),
    pytest.param({"status": 429, "message": "Your spend limit has been reached."},
                 AnalyzerRefused, "Claude spend limit reached (HTTP 429); not retried", None,
                 id="spend-limit"),
    pytest.param({"status": 503, "headers": {"retry-after-ms": "1500"}}, AnalyzerUnavailable,
                 "Claude server error (HTTP 503)", 1.5, id="unavailable"),
    pytest.param({"status": 400, "message": "messages: bad"}, AnalyzerRefused,
                 "Claude refused the request (HTTP 400)", None, id="bad-request"),
    pytest.param({"malformed": "truncated"}, InvalidAnalysis, "Claude's answer is not JSON", None,
                 id="truncated-json"),
])
async def test_failures_are_named_for_the_retry_rules(
    client: httpx.AsyncClient, runtime: Runtime, fault: dict[str, Any],
    expected_type: type[AnalyzerError], reason: str, retry_after: float | None,
) -> None:
    await quiesce(runtime)
    await queue_faults(client, fault)

    with pytest.raises(AnalyzerError) as caught:
        await analyzer(runtime).analyze(prompt())

    assert type(caught.value) is expected_type
    assert (caught.value.reason, caught.value.retry_after_s) == (reason, retry_after)


async def test_a_slow_answer_times_out_as_unavailable(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await quiesce(runtime)
    await queue_faults(client, {"delay_s": 2})

    with pytest.raises(AnalyzerUnavailable) as caught:
        await analyzer(runtime, timeout_s=0.2).analyze(prompt())

    assert caught.value.reason == "Claude did not answer within 0.2 s"


async def test_an_unknown_model_is_refused_not_retried(runtime: Runtime) -> None:
    with pytest.raises(AnalyzerRefused) as caught:
        await analyzer(runtime, model="gpt-4o").analyze(prompt())
    assert caught.value.reason == "Claude refused the request (HTTP 404)"


def test_retry_after_accepts_seconds_milliseconds_and_dates() -> None:
    assert retry_after_s(httpx2.Headers({"retry-after": "12"})) == 12.0
    assert retry_after_s(httpx2.Headers({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    assert retry_after_s(httpx2.Headers({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after_s(httpx2.Headers({"retry-after": "soon"})) is None
    assert retry_after_s(httpx2.Headers({})) is None


VALID: dict[str, Any] = {
    "grammar": 70, "vocabulary": 65, "fluency": 60, "pronunciation": 55, "cefrLevel": "B2",
    "summary": "Well done.", "strengths": ["Clear."],
    "corrections": [{"original": "I goed", "corrected": "I went", "explanation": "Irregular.",
                     "category": "GRAMMAR"}],
    "vocabularySuggestions": [{"word": "thrilled", "meaning": "very happy",
                               "example": "I was thrilled."}],
    "nextFocus": "Past tenses.",
}


@pytest.mark.parametrize(("change", "reason"), [
    pytest.param({"grammar": 101}, "grammar is 101, outside 0..100", id="score-above-100"),
    pytest.param({"fluency": -1}, "fluency is -1, outside 0..100", id="negative-score"),
    pytest.param({"vocabulary": 55.5}, "vocabulary is not an integer", id="float-score"),
    pytest.param({"pronunciation": True}, "pronunciation is not an integer", id="bool-score"),
    pytest.param({"cefrLevel": "D1"}, "cefrLevel is not one of A1, A2, B1, B2, C1, C2",
                 id="unknown-level"),
    pytest.param({"summary": "  "}, "summary is not a non-empty string", id="blank-summary"),
    pytest.param({"extra": 1}, "the answer has unexpected extra", id="extra-key"),
    pytest.param({"strengths": "Clear."}, "strengths is not a list", id="strengths-not-list"),
    pytest.param({"corrections": [{"original": "x", "corrected": "y", "explanation": "z",
                                   "category": "SPELLING"}]},
                 "corrections[0].category is not a known category", id="unknown-category"),
    pytest.param({"vocabularySuggestions": [{"word": "x", "meaning": "y"}]},
                 "vocabularySuggestions[0] lacks example", id="suggestion-missing-key"),
    pytest.param({"strengths": ["ok"] * 21}, "strengths has more than 20 items", id="too-many"),
])
def test_invalid_answers_are_refused_by_validation(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidAnalysis) as caught:
        parse_result({**VALID, **change})
    assert caught.value.reason == reason


def test_missing_keys_and_non_objects_are_refused() -> None:
    partial = {k: v for k, v in VALID.items() if k not in ("cefrLevel", "nextFocus")}
    with pytest.raises(InvalidAnalysis, match="the answer lacks cefrLevel, nextFocus"):
        parse_result(partial)
    with pytest.raises(InvalidAnalysis, match="the answer is not a JSON object"):
        parse_result(["not", "an", "object"])
