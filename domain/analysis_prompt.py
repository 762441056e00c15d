"""The analysis prompt: a versioned CEFR speaking rubric, the per-call context and the schema.

The rubric is the long static part: identical for every call, so the provider marks it for
prompt caching. Everything that varies (topic, target level, measured evidence, transcript)
follows it in the user message. Change the rubric or the schema only together with
``PROMPT_VERSION``: every stored analysis records the version it was made with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from domain.analysis import AnalysisPrompt, Evidence, MistakeCategory, Turn
from domain.cefr import CefrLevel

PROMPT_VERSION: Final = "cefr-speaking-v1"

RUBRIC: Final = """\
You are an experienced examiner of spoken English who assesses learners against the Common \
European Framework of Reference (CEFR, Companion Volume 2020, qualitative aspects of spoken \
language use). You receive the transcript of one telephone coaching call between an AI coach \
(COACH) and an adult learner (LEARNER), with measured evidence about the learner's speech. \
Assess only the LEARNER's lines. The COACH's lines are context: never score them.

Transcript format: one turn per line, "[start-end] SPEAKER: text", times in seconds from the \
start of the call ("?" when unknown). The transcript comes from automatic speech recognition: \
words it could not make out appear as [inaudible] or [unclear]. Recognition errors are not the \
learner's mistakes unless the pattern clearly comes from the learner.

CEFR spoken-language descriptors (use them to choose cefrLevel):
RANGE
- A1: a very basic repertoire of words and simple phrases about personal details.
- A2: basic sentence patterns with memorised phrases to communicate limited information in \
simple everyday situations.
- B1: enough language to get by, with sufficient vocabulary to express themselves with some \
hesitation and circumlocution on familiar topics (family, hobbies, work, travel, news).
- B2: a sufficient range to give clear descriptions and express viewpoints on most general \
topics without much conspicuous searching for words, using some complex sentence forms.
- C1: a good command of a broad range of language, selecting an appropriate formulation to \
express themselves clearly without having to restrict what they want to say.
- C2: great flexibility reformulating ideas in differing linguistic forms to convey finer \
shades of meaning precisely, to give emphasis and to eliminate ambiguity.
ACCURACY
- A1: limited control of a few simple grammatical structures and patterns.
- A2: uses some simple structures correctly, but still systematically makes basic mistakes.
- B1: uses reasonably accurately a repertoire of frequently used routines and patterns \
associated with predictable situations.
- B2: a relatively high degree of grammatical control; does not make errors which cause \
misunderstanding and can correct most of their mistakes.
- C1: consistently maintains a high degree of grammatical accuracy; errors are rare and \
difficult to spot.
- C2: maintains consistent grammatical control of complex language.
FLUENCY
- A1: manages very short, isolated, mainly pre-packaged utterances, with much pausing.
- A2: makes themselves understood in very short utterances, though pauses, false starts and \
reformulation are very evident.
- B1: keeps going comprehensibly, though pausing for grammatical and lexical planning and \
repair is very evident, especially in longer stretches.
- B2: produces stretches of language with a fairly even tempo; few noticeably long pauses.
- C1: expresses themselves fluently and spontaneously, almost effortlessly; only a \
conceptually difficult subject hinders a natural, smooth flow.
- C2: expresses themselves at length with a natural, effortless, unhesitating flow.
INTERACTION
- A1: asks and answers questions about personal details; communication depends on repetition.
- A2: answers questions and responds to simple statements; can indicate when they follow.
- B1: initiates, maintains and closes simple face-to-face conversation on familiar topics.
- B2: initiates discourse, takes their turn when appropriate and ends conversation when \
needed, though not always elegantly; helps the discussion along on familiar ground.
- C1: selects a suitable phrase from a readily available range of discourse functions to \
preface their remarks, to get or keep the floor and to relate their contributions skilfully.
- C2: interacts with ease and skill, picking up and using non-verbal and intonational cues.
COHERENCE
- A1: links words or groups of words with very basic linear connectors like "and" or "then".
- A2: links groups of words with simple connectors like "and", "but" and "because".
- B1: links a series of shorter, discrete simple elements into a connected, linear sequence.
- B2: uses a limited number of cohesive devices to link utterances into clear, coherent \
discourse, though there may be some "jumpiness" in a long contribution.
- C1: produces clear, smoothly flowing, well-structured speech, showing controlled use of \
organisational patterns, connectors and cohesive devices.
- C2: creates coherent and cohesive discourse making full and appropriate use of a variety of \
organisational patterns and a wide range of cohesive devices.

Scores (integers from 0 to 100; 50 is a typical B1 performance, 75 a typical B2, 90 C1):
- grammar: ACCURACY of grammar, weighted by the complexity of what was attempted.
- vocabulary: RANGE and precision of vocabulary, including collocations and word choice.
- fluency: FLUENCY, INTERACTION and COHERENCE together. Check your judgement against the \
measured evidence: speaking rate (learner words per minute; roughly 60 is slow and halting, \
100-150 is natural conversation) and the number of long pauses (3 seconds or more) before the \
learner's turns. Fillers such as "um" and "uh" count against fluency.
- pronunciation: a transcript carries no sound, so this is an ESTIMATE of intelligibility from \
the recognition evidence only: how much of the learner's speech the recogniser understood \
(transcriber confidence, [inaudible]/[unclear] markers, words that look misrecognised). Do not \
reward or punish accent. When the evidence is thin, stay close to the other scores.
- cefrLevel: the single level (A1, A2, B1, B2, C1 or C2) that best fits the learner's \
performance in THIS call across all five descriptors. Judge what was shown, not the target.

Feedback:
- summary: two to four sentences for the learner, encouraging and specific, addressed as "you".
- strengths: one to five concrete things the learner did well in this call.
- corrections: up to eight of the learner's most useful mistakes, most important first. \
"original" quotes the learner's words exactly as transcribed, "corrected" is the natural \
correct version, "explanation" says why in one sentence a learner at their level understands, \
"category" is GRAMMAR, VOCABULARY, FLUENCY or PRONUNCIATION. Never invent mistakes.
- vocabularySuggestions: two to five words or phrases that would have helped in this \
conversation, each with a short meaning and an example sentence on the topic.
- nextFocus: one sentence naming the single thing to practise next, at the target level.

Answer with the JSON object only, exactly matching the schema: no prose, no markdown.
"""


def _string() -> dict[str, Any]:
    return {"type": "string"}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    """Structured outputs require every object closed and every property required."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(properties),
        "properties": properties,
    }


_SCORE = {"type": "integer", "description": "0 to 100"}

#: No numeric or length limits here: structured outputs refuse them, so ranges are enforced by
#: ``analysis_validation`` instead.
OUTPUT_SCHEMA: Final = _object(
    {
        "grammar": _SCORE,
        "vocabulary": _SCORE,
        "fluency": _SCORE,
        "pronunciation": _SCORE,
        "cefrLevel": {"type": "string", "enum": [level.value for level in CefrLevel]},
        "summary": _string(),
        "strengths": {"type": "array", "items": _string()},
        "corrections": {
            "type": "array",
            "items": _object(
                {
                    "original": _string(),
                    "corrected": _string(),
                    "explanation": _string(),
                    "category": {"type": "string", "enum": [c.value for c in MistakeCategory]},
                }
            ),
        },
        "vocabularySuggestions": {
            "type": "array",
            "items": _object({"word": _string(), "meaning": _string(), "example": _string()}),
        },
        "nextFocus": _string(),
    }
)


@dataclass(frozen=True, slots=True)
class CallContext:
    """What the prompt says about the call beyond its transcript."""

    topic_title: str | None
    topic_description: str | None
    target_level: str
    explanation_language: str


def _time(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}"


def _clean(text: str) -> str:
    """One line per turn, and no text that could close the transcript block early."""
    flat = " ".join(text.split())
    return flat.replace("<transcript>", "").replace("</transcript>", "")


def transcript_lines(turns: Sequence[Turn]) -> str:
    speaker = {"learner": "LEARNER", "coach": "COACH"}
    return "\n".join(
        f"[{_time(t.start_s)}-{_time(t.end_s)}] {speaker.get(t.role, 'COACH')}: {_clean(t.text)}"
        for t in turns
    )


def _context(call: CallContext, evidence: Evidence) -> str:
    fluency, recognition = evidence.fluency, evidence.recognition
    topic = call.topic_title or "free conversation"
    wpm = fluency.words_per_minute
    lines = [
        f"Topic: {topic}" + (f" ({call.topic_description})" if call.topic_description else ""),
        f"The learner's target level: {call.target_level}",
        f"Write summary, explanations, meanings and nextFocus in language: "
        f"{call.explanation_language}",
        "Measured evidence:",
        f"- learner words: {fluency.learner_words} over {fluency.learner_turns} turns",
        f"- speaking rate: {wpm if wpm is not None else 'unknown'} words per minute",
        f"- long pauses (3 s or more) before learner turns: {fluency.long_pauses}",
        f"- unclear or inaudible markers in learner turns: {recognition.unclear_markers}",
        "- mean transcriber confidence: "
        + (
            f"{recognition.mean_confidence} over {recognition.turns_with_confidence} turns"
            if recognition.mean_confidence is not None
            else "not reported"
        ),
    ]
    return "\n".join(lines)


def build_prompt(call: CallContext, turns: Sequence[Turn], evidence: Evidence) -> AnalysisPrompt:
    return AnalysisPrompt(
        version=PROMPT_VERSION,
        instructions=RUBRIC,
        context=_context(call, evidence),
        transcript=transcript_lines(turns),
        output_schema=OUTPUT_SCHEMA,
    )
