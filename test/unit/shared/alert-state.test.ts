import { describe, expect, it } from "vitest";
import { AlertState } from "../../../services/shared/alert-state.ts";

function run(state: AlertState, verdicts: boolean[]) {
  return verdicts.map((drifted) => state.observe(drifted) ?? "-");
}

describe("alert hysteresis", () => {
  it("fires after N drifted windows in a row and resolves after M clean ones", () => {
    expect(run(new AlertState(2, 3), [true, true, true, false, false, false, false])).toEqual([
      "-",
      "firing",
      "-",
      "-",
      "-",
      "resolved",
      "-",
    ]);
  });

  it("does not flap on alternating windows", () => {
    expect(run(new AlertState(2, 2), [true, false, true, false, true, false])).toEqual(["-", "-", "-", "-", "-", "-"]);
    const firing = new AlertState(1, 2);
    expect(run(firing, [true, false, true, false, true])).toEqual(["firing", "-", "-", "-", "-"]);
    expect(firing.isFiring).toBe(true);
  });

  it("fires again after a resolution", () => {
    expect(run(new AlertState(1, 1), [true, false, true])).toEqual(["firing", "resolved", "firing"]);
  });
});
