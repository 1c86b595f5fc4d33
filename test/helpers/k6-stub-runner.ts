// Runs a k6 script's lifecycle under Node with k6's modules replaced by recording stubs, so tests
// can see what the script would do without k6: its evaluated options, setup(), a few iterations of
// the default function per scenario (the requests it would send), and handleSummary().
// Usage: node k6-stub-runner.ts <script.js> '<json: { env, iterations, summaryData }>'
// Prints one JSON line with what happened.
import { registerHooks } from "node:module";
import { pathToFileURL } from "node:url";

interface Request {
  method: string;
  url: string;
  body?: string;
  headers?: Record<string, string>;
  tags?: Record<string, string>;
}

interface Stub {
  requests: Request[];
  checks: Array<{ name: string; ok: boolean }>;
  counters: Record<string, number>;
  scenario: string;
  vu: number;
  iteration: number;
  /** What the fake ingest API answers. */
  answer(request: Request): { status: number; body: string };
}

const [script, argument] = process.argv.slice(2);
if (!script || !argument) throw new Error("usage: k6-stub-runner.ts <script.js> <json>");
const input = JSON.parse(argument) as { env: Record<string, string>; iterations: number; summaryData: unknown };

const stub: Stub = {
  requests: [],
  checks: [],
  counters: {},
  scenario: "",
  vu: 1,
  iteration: 0,
  answer(request) {
    if (request.method === "GET")
      return { status: 200, body: JSON.stringify({ pipelines: [{ name: "payments" }, { name: "iris" }] }) };
    const text = request.body ?? "";
    const events = request.headers?.["content-type"]?.includes("ndjson")
      ? text.split("\n").filter((line) => line.trim() !== "")
      : ([] as unknown[]).concat(JSON.parse(text));
    return { status: 200, body: JSON.stringify({ accepted: events.length, rejected: 0 }) };
  },
};
Object.assign(globalThis, { __k6stub: stub, __ENV: input.env, __VU: 0, __ITER: 0 });

const modules: Record<string, string> = {
  k6: `const s = globalThis.__k6stub;
    export function check(value, checks) {
      let all = true;
      for (const [name, fn] of Object.entries(checks)) { const ok = Boolean(fn(value)); s.checks.push({ name, ok }); all &&= ok; }
      return all;
    }
    export function sleep() {}
    export function fail(message) { throw new Error(message); }
    export function group(_name, fn) { return fn(); }`,
  "k6/http": `const s = globalThis.__k6stub;
    function send(request) { s.requests.push(request); return s.answer(request); }
    export default {
      get: (url, params = {}) => send({ method: "GET", url, tags: params.tags }),
      post: (url, body, params = {}) => send({ method: "POST", url, body, headers: params.headers, tags: params.tags }),
    };`,
  "k6/metrics": `const s = globalThis.__k6stub;
    export class Counter { constructor(name) { this.name = name; s.counters[name] ??= 0; } add(v) { s.counters[this.name] += v; } }
    export class Rate { add() {} }
    export class Trend { add() {} }
    export class Gauge { add() {} }`,
  "k6/execution": `const s = globalThis.__k6stub;
    export default {
      get scenario() { return { name: s.scenario }; },
      get vu() { return { idInTest: s.vu, iterationInScenario: s.iteration }; },
    };`,
};

registerHooks({
  resolve(specifier, context, nextResolve) {
    const source = modules[specifier];
    if (source !== undefined) {
      return { url: `data:text/javascript,${encodeURIComponent(source)}`, shortCircuit: true };
    }
    if (specifier === "k6" || specifier.startsWith("k6/")) throw new Error(`no stub for ${specifier}`);
    return nextResolve(specifier, context);
  },
});

interface ScriptModule {
  options: { scenarios: Record<string, Record<string, unknown>>; thresholds: Record<string, unknown> };
  setup?: () => unknown;
  default: (data: unknown) => void;
  handleSummary?: (data: unknown) => Record<string, string>;
}

// k6 gives every VU its own copy of the script (module state included), and runs setup and
// handleSummary in copies of their own: a fresh module instance each, by query string.
const instance = async (name: string) =>
  (await import(`${pathToFileURL(script).href}?instance=${name}`)) as ScriptModule;

const main = await instance("setup");
const data = main.setup?.();
for (const scenario of Object.keys(main.options.scenarios)) {
  stub.scenario = scenario;
  for (let vu = 1; vu <= 2; vu += 1) {
    stub.vu = vu;
    const copy = await instance(`${scenario}-${vu}`);
    for (let iteration = 0; iteration < input.iterations; iteration += 1) {
      stub.iteration = iteration;
      copy.default(data);
    }
  }
}
const summary = main.handleSummary?.(input.summaryData);
process.stdout.write(
  `${JSON.stringify({
    options: main.options,
    setupData: data,
    requests: stub.requests,
    checks: stub.checks,
    counters: stub.counters,
    summary,
  })}\n`,
);
