// Generates src/generated/api.ts from Countersign's OpenAPI document (openapi-typescript), so the
// client's types come from the server, not from hand copies.
//   node scripts/generate-types.mjs [URL or file]          write src/generated/api.ts
//   node scripts/generate-types.mjs [URL or file] --check  exit 1 if the committed file is stale
// Default source: $COUNTERSIGN_URL/api/v1/openapi.json (else http://127.0.0.1:8000).
import { readFile, writeFile } from "node:fs/promises";
import openapiTS, { astToString } from "openapi-typescript";

const args = process.argv.slice(2);
const check = args.includes("--check");
const source =
  args.find((a) => a !== "--check") ?? `${process.env.COUNTERSIGN_URL ?? "http://127.0.0.1:8000"}/api/v1/openapi.json`;
const target = new URL("../src/generated/api.ts", import.meta.url);

const text = /^https?:/.test(source) ? await (await fetch(source)).text() : await readFile(source, "utf8");
// Parsed here as JSON (openapi-typescript would read a string as YAML).
const document = JSON.parse(text);
const header = "// Generated from Countersign's /api/v1/openapi.json by scripts/generate-types.mjs: do not edit.\n";
const generated = header + astToString(await openapiTS(document, { silent: true }));

if (check) {
  const committed = await readFile(target, "utf8").catch(() => "");
  if (committed !== generated) {
    console.error("src/generated/api.ts is stale: run `npm run generate` against the current server.");
    process.exit(1);
  }
  console.log("src/generated/api.ts matches the OpenAPI document.");
} else {
  await writeFile(target, generated);
  console.log(`wrote ${target.pathname}`);
}
