// GraphQL-over-HTTP compliance: runs graphql-http's auditServer against a live server.
// Usage: node audit.mjs http://127.0.0.1:8000/graphql
// Prints every audit that is not "ok" and the counts; exits 1 on any error or warning.
import { auditServer } from 'graphql-http';

const url = process.argv[2] || process.env.GRAPHQL_URL;
if (!url) {
  console.error('usage: node audit.mjs <graphql url>');
  process.exit(2);
}

const results = await auditServer({ url });
const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status] += 1;
  if (result.status !== 'ok') {
    let body = '';
    try {
      body = await result.response.text();
    } catch {
      body = '<body already read>';
    }
    console.log(`${result.status.toUpperCase()} ${result.id} ${result.name}`);
    console.log(`  reason: ${result.reason}`);
    console.log(`  response: ${result.response.status} ${body.slice(0, 300)}`);
  }
}
console.log(
  `graphql-http audit of ${url}: ${results.length} audits, ${counts.ok} ok, ` +
    `${counts.notice} notices, ${counts.warn} warnings, ${counts.error} errors`,
);
process.exit(counts.error > 0 || counts.warn > 0 ? 1 : 0);
