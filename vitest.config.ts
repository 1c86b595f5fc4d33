import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/helpers/global-setup.ts"],
          // Starting the stack on a fresh machine includes installing it.
          hookTimeout: 900_000,
          testTimeout: 300_000,
          // Tests share one broker and one ClickHouse on a 2-core machine: run files one by one.
          fileParallelism: false,
        },
      },
    ],
  },
});
