"""The GraphQL documents the benchmarks send: what a learner's dashboard asks for."""

from __future__ import annotations

#: The dashboard a learner's app polls: balance, the last 50 calls with their scores, and
#: twelve weeks of progress.
DASHBOARD = """
query Dashboard {
  me {
    id
    fullName
    cefrLevel
    timezone
    balance { amountMinor currency }
  }
  calls(first: 50) {
    edges {
      cursor
      node {
        id
        status
        endedReason
        requestedAt
        startedAt
        endedAt
        durationSeconds
        chargeMinor
        currency
        topic { id title }
        analysis { status grammar vocabulary fluency pronunciation cefrLevel }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
  progress(granularity: WEEK) {
    periodStart
    periodEnd
    buckets {
      localDate
      calls
      minutes
      analyzedCalls
      averageGrammar
      averageVocabulary
      averageFluency
      averagePronunciation
    }
    totals { calls minutes analyzedCalls averageGrammar averageVocabulary averageFluency
             averagePronunciation }
    currentStreakDays
    currentLevel
  }
}
"""

#: Progress over the learner's whole (one-year) history, by month.
PROGRESS_MONTH = """
query ProgressByMonth {
  progress(granularity: MONTH) {
    periodStart
    periodEnd
    buckets {
      localDate
      calls
      minutes
      analyzedCalls
      averageGrammar
      averageVocabulary
      averageFluency
      averagePronunciation
    }
    totals { calls minutes analyzedCalls averageGrammar averageVocabulary averageFluency
             averagePronunciation }
    topics { calls minutes averageGrammar topic { id title } }
    currentStreakDays
    currentLevel
  }
}
"""

#: What a live dashboard subscribes to: one call's updates, or every event of the learner.
CALL_UPDATES = """
subscription CallUpdates($callId: ID!) {
  callUpdates(callId: $callId) {
    __typename
    eventId
    at
    callId
    ... on TranscriptLine { role text final seq }
    ... on CallStatusChanged { status previousStatus }
  }
}
"""

MY_EVENTS = """
subscription MyEvents {
  myEvents {
    __typename
    eventId
    at
    ... on TranscriptLine { callId role text final seq }
    ... on CallStatusChanged { callId status previousStatus }
  }
}
"""
