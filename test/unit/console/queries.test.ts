import { describe, expect, it } from "vitest";
import { deadLetterSample, numericalHistogram, quote, tableRows } from "../../../services/console/queries.ts";

const scope = { database: "streamscore", pipeline: "payments" };

describe("console SQL", () => {
  it("quotes string literals so a quote or backslash cannot end them", () => {
    expect(quote("a'b\\c")).toBe("'a\\'b\\\\c'");
  });

  it("counts a numerical window into one column per reference bin, the last bin closed", () => {
    const text = numericalHistogram(scope, 3, "amount", { start: 600, end: 900 }, [0, 10, 20, 40]);
    expect(text.match(/AS bin_\d+/g)).toEqual(["AS bin_0", "AS bin_1", "AS bin_2"]);
    expect(text).toContain("v >= 20 AND v <= 40) AS bin_2");
    expect(text).toContain("v >= 0 AND v < 10) AS bin_0");
    expect(text).toContain("v < 0) AS below");
    expect(text).toContain("v > 40) AS above");
    expect(text).toContain("feature_values[indexOf(feature_names, 'amount')]");
    expect(text).toContain("model_version = 3");
    expect(text).toContain("event_time >= toDateTime(600) AND event_time < toDateTime(900)");
    // One value per event, without merging the whole pipeline's rows.
    expect(text).toContain("LIMIT 1 BY event_id");
    expect(text).not.toContain("FINAL");
  });

  it("reads the prediction from the score column", () => {
    expect(numericalHistogram(scope, 1, "prediction", { start: 0, end: 60 }, [0, 1])).toContain(
      "SELECT event_id, score AS v",
    );
  });

  it("filters dead letters by code only when one is given", () => {
    expect(deadLetterSample(scope, 5)).not.toContain("error_code =");
    expect(deadLetterSample(scope, 5, "SCHEMA_NOT_FOUND")).toContain("error_code = 'SCHEMA_NOT_FOUND'");
  });

  it("counts every table the pages read", () => {
    const text = tableRows(scope);
    for (const table of [
      "predictions",
      "shadow_predictions",
      "labels",
      "drift_metrics",
      "model_quality",
      "dead_letters",
    ])
      expect(text).toContain(`FROM streamscore.${table} WHERE pipeline = 'payments'`);
  });
});
