// Follows one call with the real graphql-ws client (the one browsers and dashboards use):
// prints each event of `callUpdates` as a JSON line, from the start of the call's log, until an
// event of type UNTIL (default AnalysisReady) arrives. A refused connection prints its close
// code as {"closeCode": N} and exits 3.
//
// usage: node follow_call.mjs WS_URL ACCESS_TOKEN CALL_ID [UNTIL]
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, callId, until = 'AnalysisReady'] = process.argv.slice(2);

const query = `
subscription Follow($callId: ID!, $after: String) {
  callUpdates(callId: $callId, after: $after) {
    __typename eventId at callId
    ... on CallStatusChanged { status previousStatus }
    ... on TranscriptLine { role text final }
    ... on CallEnded { status durationSeconds chargeMinor currency }
    ... on AnalysisReady { analysisStatus cefrLevel scores { grammar vocabulary fluency pronunciation } }
  }
}`;

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  retryAttempts: 0,
  lazy: true,
});

const timer = setTimeout(() => {
  console.error('timed out waiting for', until);
  process.exit(2);
}, 90_000);

let code = 0;
try {
  for await (const result of client.iterate({ query, variables: { callId, after: '0' } })) {
    if (result.errors) {
      console.log(JSON.stringify({ errors: result.errors }));
      code = 1;
      break;
    }
    const event = result.data.callUpdates;
    console.log(JSON.stringify(event));
    if (event.__typename === until) break;
  }
} catch (error) {
  if (error && typeof error.code === 'number') {
    console.log(JSON.stringify({ closeCode: error.code }));
    code = 3;
  } else {
    console.log(JSON.stringify({ errors: Array.isArray(error) ? error : [String(error)] }));
    code = 1;
  }
}
clearTimeout(timer);
await client.dispose();
process.exit(code);
