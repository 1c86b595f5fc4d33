import { describe, expect, it } from "vitest";
import { parseServiceUrls } from "../../../services/console/readiness.ts";

describe("parseServiceUrls", () => {
  it("maps name=url entries, dropping a trailing slash", () => {
    expect(parseServiceUrls(["producer=http://127.0.0.1:8080/", "inference=http://127.0.0.1:8081"])).toEqual({
      producer: "http://127.0.0.1:8080",
      inference: "http://127.0.0.1:8081",
    });
  });

  it("fails naming the malformed entry", () => {
    expect(() => parseServiceUrls(["producer:8080"])).toThrow(/CONSOLE_SERVICE_URLS: "producer:8080"/);
  });
});
