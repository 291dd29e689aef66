// What the TypeScript client adds to a tool call that policy lets through: `gate()` on an auto-approved
// type (propose, answered `approved`; the outcome report runs in the background), p50/p95 over N calls.
//   npm run build && COUNTERSIGN_URL=http://127.0.0.1:8000 COUNTERSIGN_TOKEN=cs_… node scripts/bench.mjs [N]
// Against `make run`, the demo's `tickets.tag` is auto-approved (act with audit) and the demo agent's token
// is cs_demo_agent_token_for_local_use_only.
import { Client, gate, settled } from "../dist/index.js";

const client = Client.fromEnv();
const calls = Number(process.argv[2] ?? 200);
const tag = gate("tickets.tag", async (args) => ({ tagged: args.ticket }), { client });
for (let i = 0; i < 20; i++) await tag({ ticket: `warm-${i}`, tag: "bench" }); // connections, caches
const times = [];
for (let i = 0; i < calls; i++) {
  const started = performance.now();
  await tag({ ticket: `T-${i}`, tag: "bench" });
  times.push(performance.now() - started);
}
await settled(client);
times.sort((a, b) => a - b);
const at = (q) => times[Math.floor(q * (calls - 1))].toFixed(1);
console.log(JSON.stringify({ calls, p50_ms: at(0.5), p95_ms: at(0.95), max_ms: times[calls - 1].toFixed(1) }));
