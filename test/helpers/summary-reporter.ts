// Ends every run with one plain line, "N passed, N failed, N skipped", that any CI log reader
// understands; skipped tests are listed with their names, which say why they were skipped.
import type { Reporter, SerializedError, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    let passed = 0;
    let failed = 0;
    const skipped: string[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed += 1;
        else if (state === "failed") failed += 1;
        else if (state === "skipped") skipped.push(test.fullName);
      }
    }
    // A file whose set-up failed has its tests marked skipped: count the file as a failure.
    for (const module of testModules) {
      if (module.state() === "failed" && ![...module.children.allTests()].some((t) => t.result().state === "failed")) {
        failed += 1;
        console.log(`failed: ${module.moduleId} (set-up or teardown error)`);
      }
    }
    failed += unhandledErrors.length;
    for (const name of skipped) console.log(`skipped: ${name}`);
    console.log(`${passed} passed, ${failed} failed, ${skipped.length} skipped`);
  }
}
