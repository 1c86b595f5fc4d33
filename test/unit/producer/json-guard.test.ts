import { describe, expect, it } from "vitest";
import { maxJsonDepth, parseJsonBody, parseNdjsonBody } from "../../../services/producer/body.ts";
import { findJsonProblem } from "../../../services/producer/json-guard.ts";
import { seededRandom } from "../../../services/shared/random.ts";

describe("duplicate fields and nesting in JSON text", () => {
  it.each([
    ['{"a":1,"b":2}'],
    ['[{"a":1},{"a":2}]'],
    ['{"a":{"a":{"a":1}}}'],
    ['{"a":"b","b":"a"}'],
    ['{"a":"{\\"a\\":1,\\"a\\":2}","b":[",","}"]}'],
    ['{"a\\\\":1,"a":2}'],
    ['{"":1,"x":[]}'],
    ["[]"],
    ['"text"'],
    ["42"],
  ])("finds nothing wrong with %s", (text) => {
    JSON.parse(text);
    expect(findJsonProblem(text, 10)).toBeUndefined();
  });

  it.each([
    ['{"a":1,"a":2}', "$.a"],
    ['[{"a":1},{"b":1},{"c":1,"d":{"e":1},"c":2}]', "$[2].c"],
    ['{"a":{"x":1,"y":2,"x":3}}', "$.a.x"],
    ['{"a":1,"\\u0061":2}', "$.a"],
    ['{"q\\"":1,"b":"\\\\","q\\"":2}', '$.q"'],
    ['{ "a" : 1 ,\n "a" : 1 }', "$.a"],
  ])("finds the duplicate field in %s at %s", (text, path) => {
    expect(findJsonProblem(text, 10)).toMatchObject({ code: "DUPLICATE_FIELD", path });
  });

  it("refuses nesting deeper than the bound and says where", () => {
    expect(findJsonProblem("[[[1]]]", 3)).toBeUndefined();
    expect(findJsonProblem('[[{"a":[1]}]]', 3)).toMatchObject({ code: "NESTING_TOO_DEEP", path: "$[0][0].a" });
  });

  it("agrees with JSON.parse on generated documents: clean ones pass, an injected repeat is found", () => {
    const random = seededRandom(7);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
    const keys = ["a", "b", 'q"', "\\", "é", "{", ",", ":", "[", "x y"];
    const value = (depth: number): unknown => {
      const kind = depth > 3 ? pick(["n", "s", "b"]) : pick(["n", "s", "b", "o", "a"]);
      if (kind === "n") return random() * 1e6 - 5e5;
      if (kind === "s") return pick(keys) + pick(keys);
      if (kind === "b") return random() < 0.5;
      if (kind === "a") return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      const object: Record<string, unknown> = {};
      for (let i = Math.floor(random() * 5); i > 0; i -= 1) object[pick(keys)] = value(depth + 1);
      return object;
    };
    for (let i = 0; i < 300; i += 1) {
      const document = { id: i, body: value(0) };
      const text = JSON.stringify(document);
      expect(findJsonProblem(text, 20)).toBeUndefined();
      // The same key again, in the top-level object: only the later value would survive JSON.parse.
      const repeated = `${text.slice(0, -1)},"id":${i + 1}}`;
      expect((JSON.parse(repeated) as { id: number }).id).toBe(i + 1);
      expect(findJsonProblem(repeated, 20)).toMatchObject({ code: "DUPLICATE_FIELD", path: "$.id" });
    }
  });
});

describe("request bodies refuse what JSON.parse would let through", () => {
  it("names a duplicate field in a JSON body and on an NDJSON line", () => {
    expect(parseJsonBody('[{"amount":1},{"amount":1,"amount":1000}]')).toEqual({
      ok: false,
      error: "DUPLICATE_FIELD",
      message: "field $[1].amount appears more than once in one object",
    });
    expect(parseNdjsonBody('{"a":1}\n{"a":1,"a":2}')).toEqual({
      ok: false,
      error: "DUPLICATE_FIELD",
      message: "line 2: field $.a appears more than once in one object",
    });
  });

  it(`refuses nesting deeper than ${maxJsonDepth} levels`, () => {
    const deep = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
    expect(parseJsonBody(deep)).toMatchObject({ ok: false, error: "NESTING_TOO_DEEP" });
    expect(parseJsonBody(`[{"a":${"[".repeat(maxJsonDepth - 2)}1${"]".repeat(maxJsonDepth - 2)}}]`)).toMatchObject({
      ok: true,
    });
  });
});
