"""The Anthropic sandbox, driven by the real ``anthropic.AsyncAnthropic`` the service uses.

anthropic 2.x talks through ``httpx2`` (it rejects ``httpx`` clients), so the in-process route is
``httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app))``. It also sends the key as
``Authorization: Bearer`` and ``anthropic-version: 2026-10-21``, which the sandbox accepts.
Note ``claude-sonnet-4-5`` makes this SDK emit a DeprecationWarning (an error under our pytest
settings), hence ``claude-sonnet-4-6`` here. The control API is plain JSON, used through httpx.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

import anthropic
import httpx
import httpx2
import pytest
from pydantic import BaseModel
from starlette.applications import Starlette

from sandbox import SandboxContext
from sandbox.anthropic import create_app
from sandbox.anthropic_scoring import analyse, cefr_level

MODEL = "claude-sonnet-4-6"
BASE = "http://sandbox"
KEYS = {
    "grammar",
    "vocabulary",
    "fluency",
    "pronunciation",
    "cefrLevel",
    "summary",
    "strengths",
    "corrections",
    "vocabularySuggestions",
    "nextFocus",
}
LEVELS = ["A1", "A2", "B1", "B2", "C1", "C2"]
SYSTEM = "You are an examiner. Analyse the learner's English and answer with JSON only. " * 8

POOR = """[0.0-3.0] COACH: Hello! What did you do at the weekend?
[3.5-9.0] LEARNER: Um, I goed to shop. Uh, um, I buyed bread.
[?-?] COACH: Nice! Did your brother come?
[10.0-14.0] LEARNER: No. He don't like shop. It is more better at home."""

RICH = """[0.0-3.0] COACH: Hello! What did you do at the weekend?
[3.5-20.0] LEARNER: On Saturday I went to the farmers market near my flat, because I wanted \
fresh vegetables for a dinner party I was hosting.
[21.0-24.0] COACH: Sounds lovely. How did it go?
[24.5-45.0] LEARNER: It went remarkably well, although the oven broke halfway through, so we \
improvised and grilled everything outside on the balcony instead.
[46.0-48.0] COACH: Great improvisation!
[48.5-70.0] LEARNER: Honestly, my guests seemed to enjoy the chaos, and we ended up discussing \
travel plans, favourite novels and the challenges of learning languages as adults.
[70.0-72.0] COACH: Which languages?
[72.5-95.0] LEARNER: Mostly Spanish and Portuguese, which are similar enough to be confusing, \
though watching films with subtitles helps me distinguish their pronunciation considerably."""


def prompt(transcript: str) -> str:
    """The user message as the service sends it: instructions, then the marked transcript."""
    return f"Analyse this call.\n<transcript>\n{transcript}\n</transcript>"


@pytest.fixture
def sandbox_app() -> Starlette:
    ctx = SandboxContext(
        public_base_url=BASE,
        http_client=httpx.AsyncClient,
        vapi_webhook_secret="unused",
        stripe_webhook_secret="unused",
        speed=0,
    )
    return create_app(ctx)


@pytest.fixture
async def claude(sandbox_app: Starlette) -> AsyncIterator[anthropic.AsyncAnthropic]:
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=sandbox_app))
    async with anthropic.AsyncAnthropic(
        api_key="sandbox_anthropic", base_url=BASE, http_client=http, max_retries=0
    ) as client:
        yield client


@pytest.fixture
async def control(sandbox_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


async def analyse_call(
    claude: anthropic.AsyncAnthropic, transcript: str, **kwargs: Any
) -> tuple[anthropic.types.Message, dict[str, Any]]:
    """One analysis request shaped like the service's, with a cached system prompt."""
    message = await claude.messages.create(
        model=MODEL,
        max_tokens=2048,
        system=[{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": prompt(transcript)}],
        **kwargs,
    )
    block = message.content[0]
    assert block.type == "text"
    return message, json.loads(block.text)


def assert_valid_analysis(analysis: dict[str, Any]) -> None:
    assert set(analysis) == KEYS
    for key in ("grammar", "vocabulary", "fluency", "pronunciation"):
        assert isinstance(analysis[key], int) and 0 <= analysis[key] <= 100, key
    assert analysis["cefrLevel"] in LEVELS
    assert isinstance(analysis["summary"], str) and analysis["summary"]
    assert isinstance(analysis["nextFocus"], str) and analysis["nextFocus"]
    assert analysis["strengths"] and all(isinstance(s, str) for s in analysis["strengths"])
    for c in analysis["corrections"]:
        assert set(c) == {"original", "corrected", "explanation", "category"}
        assert c["category"] in {"GRAMMAR", "VOCABULARY", "PRONUNCIATION", "FLUENCY"}
    for v in analysis["vocabularySuggestions"]:
        assert set(v) == {"word", "meaning", "example"}


async def test_valid_request_returns_analysis_json(claude: anthropic.AsyncAnthropic) -> None:
    message, analysis = await analyse_call(claude, RICH)
    assert message.type == "message" and message.role == "assistant"
    assert message.model == MODEL
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert message.id.startswith("msg_")
    assert message._request_id and message._request_id.startswith("req_")
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert_valid_analysis(analysis)


async def test_same_transcript_same_analysis(claude: anthropic.AsyncAnthropic) -> None:
    _, first = await analyse_call(claude, POOR)
    _, second = await analyse_call(claude, POOR)
    assert first == second == analyse(prompt(POOR))


async def test_richer_transcript_scores_higher(claude: anthropic.AsyncAnthropic) -> None:
    _, poor = await analyse_call(claude, POOR)
    _, rich = await analyse_call(claude, RICH)
    for key in ("grammar", "vocabulary", "fluency", "pronunciation"):
        assert rich[key] > poor[key], key
    assert LEVELS.index(rich["cefrLevel"]) > LEVELS.index(poor["cefrLevel"])
    assert poor["cefrLevel"] == "A1" and rich["cefrLevel"] in {"B2", "C1", "C2"}
    assert rich["corrections"] == []


async def test_known_errors_become_corrections(claude: anthropic.AsyncAnthropic) -> None:
    transcript = (
        "[0-9] LEARNER: I goed there and he don't care. I am agree it is more better.\n"
        "[9-15] LEARNER: Can you explain me the informations?"
    )
    _, analysis = await analyse_call(claude, transcript)
    pairs = {(c["original"], c["corrected"]) for c in analysis["corrections"]}
    assert pairs == {
        ("I goed", "I went"),
        ("he don't", "he doesn't"),
        ("I am agree", "I agree"),
        ("more better", "better"),
        ("explain me", "explain to me"),
        ("informations", "information"),
    }
    assert "I went" in analysis["nextFocus"]


def test_scoring_formula_is_the_documented_one() -> None:
    """Pins the docstring's formula on a tiny transcript computed by hand."""
    # W=8, D=7, S=2, ASL=4, L=8/150, G=7/sqrt(8), Eg=1 -> ERg=12.5, no timing, no fillers.
    result = analyse("<transcript>\n[?-?] LEARNER: I goed home. Then I slept well today.\n")
    length = 8 / 150
    assert result["grammar"] == round(35 + 45 * length + 4 - 40) == 1
    assert result["vocabulary"] == round(10 + 6 * 7 / 8**0.5 + 25 * length) == 26
    assert result["fluency"] == round(20 + 40 * length + 2 * 4) == 30
    assert result["pronunciation"] == round(0.5 * 30 + 0.3 * 26 + 0.2 * 1) == 23
    assert result["cefrLevel"] == "A1"
    assert cefr_level(34.99) == "A1" and cefr_level(62) == "B2" and cefr_level(88) == "C2"
    assert analyse("no transcript here")["grammar"] == 0


async def test_overloaded_with_retry_after(
    claude: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    await control.post("/_control/faults", json={"queue": [{"status": 529, "retry_after": 1}]})
    with pytest.raises(anthropic.InternalServerError) as caught:
        await analyse_call(claude, RICH)
    err = caught.value
    assert isinstance(err, anthropic.OverloadedError) and isinstance(err, anthropic.APIStatusError)
    assert err.status_code == 529
    assert err.response.headers["retry-after"] == "1"
    assert err.type == "overloaded_error"
    assert err.request_id and err.request_id.startswith("req_")
    _, analysis = await analyse_call(claude, RICH)  # the queue is empty again
    assert_valid_analysis(analysis)


async def test_fault_queue_is_served_in_order(
    claude: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    spend = "You have reached your specified API usage limits (spend limit)."
    queue = [
        {"status": 500},
        {"status": 429, "retry_after": 2},
        {"status": 429, "type": "rate_limit_error", "message": spend},
        {"malformed": True},
        {"malformed": "out_of_range"},
    ]
    assert (await control.post("/_control/faults", json={"queue": queue})).status_code == 200
    with pytest.raises(anthropic.InternalServerError) as server:
        await analyse_call(claude, POOR)
    assert server.value.status_code == 500 and server.value.type == "api_error"
    with pytest.raises(anthropic.RateLimitError) as limited:
        await analyse_call(claude, POOR)
    assert limited.value.response.headers["retry-after"] == "2"
    with pytest.raises(anthropic.RateLimitError) as spent:
        await analyse_call(claude, POOR)
    assert spent.value.error_code == "enforced_spend_limit_reached"
    assert spent.value.api_message == spend and "retry-after" not in spent.value.response.headers
    with pytest.raises(json.JSONDecodeError):
        await analyse_call(claude, POOR)
    _, out_of_range = await analyse_call(claude, POOR)
    assert out_of_range["grammar"] > 100
    _, fine = await analyse_call(claude, POOR)
    assert_valid_analysis(fine)


async def test_sdk_retries_honour_retry_after(
    claude: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    queue = [{"status": 529, "retry_after": 0.01}, {"status": 429, "retry_after": 0.01}]
    await control.post("/_control/faults", json={"queue": queue})
    _, analysis = await analyse_call(claude.with_options(max_retries=2), RICH)
    assert_valid_analysis(analysis)
    log = (await control.get("/_control/requests")).json()
    assert [entry["status"] for entry in log] == [529, 429, 200]
    assert [e["headers"]["x-stainless-retry-count"] for e in log] == ["0", "1", "2"]


async def test_repeating_fault_persists_until_cleared(
    claude: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    await control.post("/_control/faults", json={"queue": [{"status": 500, "repeat": True}]})
    for _ in range(3):
        with pytest.raises(anthropic.InternalServerError):
            await analyse_call(claude, POOR)
    assert (await control.delete("/_control/faults")).json() == {"queue": []}
    _, analysis = await analyse_call(claude, POOR)
    assert_valid_analysis(analysis)


async def test_delay_fault_sleeps_before_answering(
    claude: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    await control.post("/_control/faults", json={"queue": [{"delay_s": 0.2}]})
    started = time.monotonic()
    await analyse_call(claude, POOR)
    assert time.monotonic() - started >= 0.2


async def test_bad_faults_are_refused(control: httpx.AsyncClient) -> None:
    for queue in ([{"status": 200}], [{"retry_after": 1}], [{"status": 500, "bogus": 1}]):
        assert (await control.post("/_control/faults", json={"queue": queue})).status_code == 400
    assert (await control.post("/_control/faults", json={"nope": []})).status_code == 400
    assert (await control.get("/_control/faults")).json() == {"queue": []}


async def test_missing_key_is_401(control: httpx.AsyncClient) -> None:
    body = {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    response = await control.post(
        "/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"}
    )
    assert response.status_code == 401
    assert response.json()["type"] == "error"
    assert response.json()["error"]["type"] == "authentication_error"
    assert response.headers["request-id"].startswith("req_")
    old_sdk = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    assert (await control.post("/v1/messages", json=body, headers=old_sdk)).status_code == 200
    no_version = await control.post("/v1/messages", json=body, headers={"x-api-key": "k"})
    assert no_version.status_code == 400
    assert "anthropic-version" in no_version.json()["error"]["message"]


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"messages": []}, "at least one message"),
        ({"messages": [{"role": "system", "content": "hi"}]}, "messages.0.role"),
        ({"messages": [{"role": "user", "content": [{"type": "text"}]}]}, "content.0.text"),
        ({"system": [{"type": "text", "text": "x", "cache_control": {"type": "x"}}]}, "ephemeral"),
        ({"system": 42}, "system"),
        ({"extra_body": {"tempreature": 0.2}}, "tempreature: Extra inputs"),
        ({"max_tokens": True}, "max_tokens: Input should be a valid integer"),
    ],
)
async def test_invalid_body_is_400(
    claude: anthropic.AsyncAnthropic, overrides: dict[str, Any], fragment: str
) -> None:
    kwargs: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
        **overrides,
    }
    with pytest.raises(anthropic.BadRequestError) as caught:
        await claude.messages.create(**kwargs)
    assert caught.value.type == "invalid_request_error"
    assert fragment in (caught.value.api_message or "")


async def test_unknown_model_is_404(claude: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.NotFoundError):
        await claude.messages.create(
            model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )


async def test_cache_usage_counters(claude: anthropic.AsyncAnthropic) -> None:
    first, _ = await analyse_call(claude, POOR)
    assert first.usage.cache_creation_input_tokens and first.usage.cache_read_input_tokens == 0
    assert first.usage.cache_creation and first.usage.cache_creation.ephemeral_5m_input_tokens
    second, _ = await analyse_call(claude, RICH)  # same cached system prompt, new transcript
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.input_tokens > first.usage.input_tokens  # the longer transcript
    other = await claude.messages.create(
        model=MODEL,
        max_tokens=2048,
        system=[{"type": "text", "text": SYSTEM + "!", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": prompt(POOR)}],
    )
    assert other.usage.cache_read_input_tokens == 0 and other.usage.cache_creation_input_tokens
    plain = await claude.messages.create(
        model=MODEL, max_tokens=2048, system=SYSTEM, messages=[{"role": "user", "content": "x"}]
    )
    assert plain.usage.cache_creation_input_tokens == plain.usage.cache_read_input_tokens == 0


async def test_request_log(claude: anthropic.AsyncAnthropic, control: httpx.AsyncClient) -> None:
    assert (await control.get("/_control/requests")).json() == []  # "no Claude call was made"
    await control.post("/_control/faults", json={"queue": [{"status": 529}]})
    with pytest.raises(anthropic.OverloadedError):
        await analyse_call(claude, POOR)
    await analyse_call(claude, POOR)
    log = (await control.get("/_control/requests")).json()
    assert [entry["status"] for entry in log] == [529, 200]
    for entry in log:
        assert "authorization" not in entry["headers"] and "x-api-key" not in entry["headers"]
        assert entry["headers"]["anthropic-version"]
        assert entry["body"]["model"] == MODEL
        assert "<transcript>" in entry["body"]["messages"][-1]["content"]
    assert log[0]["fault"] == {"status": 529} and log[1]["fault"] is None
    assert log[1]["response"]["content"][0]["text"].startswith("{")
    assert (await control.delete("/_control/requests")).json() == []


class Correction(BaseModel):
    original: str
    corrected: str
    explanation: str
    category: Literal["GRAMMAR", "VOCABULARY", "PRONUNCIATION", "FLUENCY"]


class Suggestion(BaseModel):
    word: str
    meaning: str
    example: str


class Analysis(BaseModel):
    grammar: int
    vocabulary: int
    fluency: int
    pronunciation: int
    cefrLevel: Literal["A1", "A2", "B1", "B2", "C1", "C2"]
    summary: str
    strengths: list[str]
    corrections: list[Correction]
    vocabularySuggestions: list[Suggestion]
    nextFocus: str


async def test_structured_output_via_sdk_parse(claude: anthropic.AsyncAnthropic) -> None:
    parsed = await claude.messages.parse(
        model=MODEL,
        max_tokens=2048,
        messages=[{"role": "user", "content": prompt(POOR)}],
        output_format=Analysis,
    )
    assert parsed.parsed_output is not None
    assert parsed.parsed_output.model_dump() == analyse(prompt(POOR))


async def test_structured_output_schema_limits(claude: anthropic.AsyncAnthropic) -> None:
    loose = {"type": "object", "properties": {"grammar": {"type": "integer"}}}
    with pytest.raises(anthropic.BadRequestError, match="additionalProperties"):
        await claude.messages.create(
            model=MODEL,
            max_tokens=512,
            messages=[{"role": "user", "content": prompt(POOR)}],
            output_config={"format": {"type": "json_schema", "schema": loose}},
        )
    strict = {**loose, "additionalProperties": False, "required": ["grammar"]}
    message = await claude.messages.create(
        model=MODEL,
        max_tokens=512,
        messages=[{"role": "user", "content": prompt(POOR)}],
        output_config={"format": {"type": "json_schema", "schema": strict}},
    )
    block = message.content[0]
    assert block.type == "text" and set(json.loads(block.text)) == {"grammar"}


async def test_streaming_prefill_and_truncation(claude: anthropic.AsyncAnthropic) -> None:
    async with claude.messages.stream(
        model=MODEL, max_tokens=2048, messages=[{"role": "user", "content": prompt(RICH)}]
    ) as stream:
        streamed = await stream.get_final_message()
    block = streamed.content[0]
    assert block.type == "text" and json.loads(block.text) == analyse(prompt(RICH))
    prefilled = await claude.messages.create(
        model=MODEL,
        max_tokens=2048,
        messages=[
            {"role": "user", "content": prompt(RICH)},
            {"role": "assistant", "content": "{"},
        ],
    )
    continued = prefilled.content[0]
    assert continued.type == "text"
    assert json.loads("{" + continued.text) == analyse(prompt(RICH))
    short = await claude.messages.create(
        model=MODEL, max_tokens=20, messages=[{"role": "user", "content": prompt(RICH)}]
    )
    assert short.stop_reason == "max_tokens" and short.usage.output_tokens <= 20
    count = await claude.messages.count_tokens(
        model=MODEL, messages=[{"role": "user", "content": prompt(RICH)}]
    )
    assert count.input_tokens == short.usage.input_tokens
