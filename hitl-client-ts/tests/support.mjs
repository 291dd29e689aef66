// What every test file shares: the Countersign that tests/client/test_typescript.py started (its URL, an
// agent's token and receipt secret, a supervisor's login), and a reviewer who decides through the inbox's
// own forms — a logged-in session posting what the buttons post.
import { createServer } from "node:http";
import { Client } from "../dist/index.js";

export const URL_ = process.env.COUNTERSIGN_URL;
export const TOKEN = process.env.COUNTERSIGN_TOKEN;
export const RECEIPT_SECRET = process.env.COUNTERSIGN_RECEIPT_SECRET;
if (!URL_ || !TOKEN) {
  throw new Error("Run these tests through `make test PYTEST_ARGS=tests/client/test_typescript.py`, which starts Countersign.");
}

export function client(options = {}) {
  return new Client(URL_, TOKEN, { backoff: 0.01, receiptSecret: RECEIPT_SECRET, ...options });
}

/** A fresh session id per test, so that the reviewer finds this test's cards and no other's. */
export function session(name) {
  return `${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

class Reviewer {
  cookies = new Map();

  async request(path, { method = "GET", form, htmx = false } = {}) {
    const headers = { Cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "), Referer: URL_ + "/" };
    if (htmx) headers["HX-Request"] = "true";
    let body;
    if (form) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams({ csrfmiddlewaretoken: this.cookies.get("csrftoken") ?? "", ...form }).toString();
    }
    const response = await fetch(URL_ + path, { method, headers, body, redirect: "manual" });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(";");
      const at = pair.indexOf("=");
      this.cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return response;
  }

  async login() {
    await this.request("/accounts/login/");
    const response = await this.request("/accounts/login/", {
      method: "POST",
      form: { username: process.env.COUNTERSIGN_REVIEWER, password: process.env.COUNTERSIGN_REVIEWER_PASSWORD },
    });
    if (response.status !== 302) throw new Error(`The reviewer could not log in: ${response.status}`);
    return this;
  }

  /** The id of the card in the inbox for the pending action of `sessionId`, once the agent proposed it:
   * the reviewer reads the inbox page as a person would. */
  async pending(sessionId, options) {
    return (await this.pendingAll(sessionId, 1, options))[0];
  }

  /** The ids of `count` cards of `sessionId`, once that many are in the inbox together. */
  async pendingAll(sessionId, count, { timeout = 30000 } = {}) {
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      const page = await (await this.request("/")).text();
      const ids = [];
      for (const card of page.split('<article class="card').slice(1)) {
        // The card's own "Agent" line, not the rest of the chunk (a group's header may follow the card).
        const id = /^[^>]*id="action-([0-9a-f-]{36})"/.exec(card);
        const session = /<dt>Agent<\/dt><dd hx-disable>[^<]*? · session ([^<·]+?)(?: · [^<]*)?<\/dd>/.exec(card);
        if (id && session && session[1] === sessionId) ids.push(id[1]);
      }
      if (ids.length >= count) return ids;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`Fewer than ${count} cards of session ${sessionId} reached the inbox within ${timeout} ms`);
  }

  /** Post a card's form as the inbox does (htmx), and check that the card that comes back says `done`. */
  async decide(path, form, done) {
    const response = await this.request(path, { method: "POST", form, htmx: true });
    const card = await response.text();
    if (response.status !== 200 || !card.includes(done)) {
      const text = card.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").slice(0, 600);
      throw new Error(`${path} answered ${response.status} without "${done}": ${text}`);
    }
  }

  approve(id, { irreversible = false } = {}) {
    return this.decide(`/actions/${id}/approve`, irreversible ? { confirm: "irreversible" } : {}, "card status-approved");
  }

  /** "Edit…", change the fields, "Approve with changes". */
  edit(id, fields, { irreversible = false } = {}) {
    return this.decide(`/actions/${id}/approve`, { edited: "1", ...fields, ...(irreversible ? { confirm: "irreversible" } : {}) }, "card status-approved");
  }

  reject(id, reason) {
    return this.decide(`/actions/${id}/reject`, { reason }, "card status-rejected");
  }
}

let reviewer;
export async function theReviewer() {
  reviewer ??= await new Reviewer().login();
  return reviewer;
}

/** A local HTTP server that accepts connections and never answers: Countersign hung. */
export async function hungServer() {
  const sockets = new Set();
  const server = createServer(() => {});
  server.on("connection", (s) => sockets.add(s));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A port nobody listens on: Countersign down. */
export async function downUrl() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/** The ways Countersign can fail an agent, each a client (and the call it makes) with which a gate must not
 * let the tool run: down, hung, a bad token (401), refused params (422), nobody deciding in time, and an
 * error thrown inside the adapter. `waitTimeout` is for the adapter's options. */
export async function outages() {
  const hung = await hungServer();
  const good = { to: "ann@example.com", subject: "Hello", body: "Hi" };
  class Broken extends Client {
    async wait() {
      throw new TypeError("something inside the adapter broke");
    }
  }
  const cases = [
    { name: "down", client: new Client(await downUrl(), TOKEN, { retries: 1, backoff: 0.01 }), args: good, says: /could not be reached/ },
    { name: "hung", client: new Client(hung.url, TOKEN, { retries: 0, timeout: 0.3 }), args: good, says: /no answer within/ },
    { name: "401", client: new Client(URL_, "cs_not_a_token"), args: good, says: /401 unauthorized/ },
    { name: "422", client: client(), args: { to: 5 }, says: /params_invalid|parameters do not match/ },
    { name: "wait timeout", client: client(), args: good, waitTimeout: 0.3, says: /No decision .* before the wait ran out/ },
    { name: "adapter error", client: new Broken(URL_, TOKEN), args: good, says: /something inside the adapter broke/ },
  ];
  return { cases, close: () => hung.close() };
}

/** The action as the agent's API shows it now. */
export function fetchAction(id) {
  return client().get(id);
}
