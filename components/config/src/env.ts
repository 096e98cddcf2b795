import { z } from "zod";

/** A schema node as zod describes it: only what the walk below reads. */
interface Node {
  readonly _zod: {
    readonly def: {
      readonly type: string;
      readonly innerType?: Node;
      readonly out?: Node;
      readonly shape?: Record<string, Node>;
      readonly options?: readonly Node[];
    };
  };
}

/**
 * Every setting's environment variable, from the schema itself, so that no key lacks one:
 * BOURSE_ and the path in upper snake case (gateway.maxBodyBytes -> BOURSE_GATEWAY_MAX_BODY_BYTES),
 * unless the key names its own with `.meta({ env })` (names the operator and docs already use).
 * Objects are walked into (the variants of a `kind` union together); anything else (numbers,
 * strings, lists) is one variable, whose value is parsed as JSON when it parses.
 */
export function environmentNames(schema: z.ZodType): Map<string, readonly string[]> {
  const names = new Map<string, readonly string[]>();
  walk(schema as unknown as Node, [], undefined, names);
  return names;
}

function walk(node: Node, path: string[], named: string | undefined, names: Map<string, readonly string[]>) {
  const env =
    (z.globalRegistry.get(node as unknown as z.ZodType) as { env?: string } | undefined)?.env ?? named;
  const def = node._zod.def;
  if (def.innerType) return walk(def.innerType, path, env, names);
  if (def.type === "pipe" && def.out) return walk(def.out, path, env, names);
  if (def.type === "object" && def.shape) {
    for (const [key, child] of Object.entries(def.shape)) walk(child, [...path, key], undefined, names);
    return;
  }
  if (def.type === "union" && def.options?.every((o) => o._zod.def.type === "object")) {
    for (const option of def.options) walk(option, path, env, names);
    return;
  }
  const name = env ?? `BOURSE_${path.map(upperSnake).join("_")}`;
  const taken = names.get(name);
  if (taken && taken.join(".") !== path.join(".")) {
    throw new Error(`${name} would name both ${taken.join(".")} and ${path.join(".")}`);
  }
  names.set(name, path);
}

function upperSnake(key: string): string {
  return key.replace(/([a-z])([A-Z0-9])/g, "$1_$2").toUpperCase();
}
