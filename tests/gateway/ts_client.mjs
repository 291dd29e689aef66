// The TypeScript SDK's client (from npm) against the gateway, run by tests/gateway/test_typescript_client.py:
// node ts_client.mjs URL TOKEN TOOL ARGUMENTS_JSON TIMEOUT_MS. It lists the tools, calls one with
// a request timeout of TIMEOUT_MS kept alive by progress (resetTimeoutOnProgress), and prints one
// JSON line: the tool names, the progress messages heard, and the result (or the error).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, token, tool, args, timeout] = process.argv.slice(2);
const transport = new StreamableHTTPClientTransport(new URL(url + "/mcp/"), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "countersign-tests", version: "1" });
const heard = [];
const out = { protocol: null, tools: [], heard };
try {
  await client.connect(transport);
  out.protocol = transport.protocolVersion ?? null;
  out.tools = (await client.listTools()).tools.map((t) => t.name);
  out.result = await client.callTool({ name: tool, arguments: JSON.parse(args) }, undefined, {
    timeout: Number(timeout),
    resetTimeoutOnProgress: true,
    onprogress: (progress) => heard.push(progress.message),
  });
} catch (error) {
  out.error = { code: error.code ?? null, message: String(error.message) };
} finally {
  console.log(JSON.stringify(out));
  await client.close();
}
