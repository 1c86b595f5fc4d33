import { describe, expect, it } from "vitest";
import { replayAlerts } from "../../../services/console/data.ts";

const cell = (feature: string, windowEnd: number, drifted: boolean, version = 1) => ({
  feature,
  version,
  windowEnd,
  drifted,
});

describe("replayAlerts", () => {
  it("fires after the second drifted window and resolves after the second clean one, per feature", () => {
    const cells = [
      cell("amount", 300, false),
      cell("amount", 600, true),
      cell("amount", 900, true),
      cell("amount", 1200, false),
      cell("amount", 1500, false),
      cell("country", 600, true),
      cell("country", 900, false),
    ];
    expect(replayAlerts(cells, 2, 2)).toEqual([
      { feature: "amount", version: 1, transition: "firing", windowEnd: 900 },
      { feature: "amount", version: 1, transition: "resolved", windowEnd: 1500 },
    ]);
  });

  it("reads the windows in time order whatever order they come in, and keeps versions apart", () => {
    const cells = [cell("amount", 900, true), cell("amount", 600, true), cell("amount", 600, true, 2)];
    expect(replayAlerts(cells, 2, 2)).toEqual([
      { feature: "amount", version: 1, transition: "firing", windowEnd: 900 },
    ]);
  });
});
