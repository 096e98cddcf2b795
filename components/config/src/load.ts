import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { ExchangeDefinition, fail, isBourseError } from "../../domain/src/index.ts";
import { environmentNames } from "./env.ts";
import { type BourseConfig, configSchema } from "./schema.ts";

/** Each setting's BOURSE_* variable (see env.ts): BOURSE_GATEWAY_PORT -> gateway.port. */
export const ENV_PATHS = environmentNames(configSchema);

export interface ConfigSources {
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly overrides?: Record<string, unknown>;
}

export async function loadConfig(sources: ConfigSources = {}): Promise<BourseConfig> {
  const merged: Record<string, unknown> = {};
  if (sources.file) deepMerge(merged, await readConfigFile(sources.file));
  deepMerge(merged, fromEnv(sources.env ?? {}));
  if (sources.overrides) deepMerge(merged, sources.overrides);
  return validateConfig(merged, sources.file ?? "configuration");
}

export function validateConfig(raw: unknown, origin = "configuration"): BourseConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    fail("INVALID_CONFIG", `invalid ${origin}:\n${formatIssues(result.error.issues)}`);
  }
  try {
    new ExchangeDefinition(result.data.exchange);
  } catch (e) {
    if (isBourseError(e)) fail("INVALID_CONFIG", `invalid ${origin}: exchange: ${e.message}`);
    throw e;
  }
  return result.data;
}

async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    fail("INVALID_CONFIG", `cannot read config file ${path}: ${(e as Error).message}`);
  }
  try {
    const parsed: unknown = path.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      fail("INVALID_CONFIG", `config file ${path} must hold a mapping at the top level`);
    }
    return parsed as Record<string, unknown>;
  } catch (e) {
    if (isBourseError(e)) throw e;
    fail("INVALID_CONFIG", `config file ${path} does not parse: ${(e as Error).message}`);
  }
}

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, path] of ENV_PATHS) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    const nested = path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), parseEnvValue(value));
    deepMerge(out, nested as Record<string, unknown>);
  }
  return out;
}

function parseEnvValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function deepMerge(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (isPlainObject(existing) && isPlainObject(value)) deepMerge(existing, value);
    else target[key] = value;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `  - ${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`).join("\n");
}
