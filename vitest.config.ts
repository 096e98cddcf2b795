import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["components/**/*.test.ts", "operator/**/*.test.ts", "tests/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: "forks",
  },
});
