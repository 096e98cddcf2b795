import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import type { Exchange } from "../src/exchange.ts";
import { renderExchange } from "../src/resources.ts";
import { example, facts } from "./example.ts";
import { COMPONENTS, type Component, type Protocol, reachOf } from "./network-reach.ts";

/**
 * The trust model's NetworkPolicy table (docs/security.md) against what the operator renders:
 * for every row, exactly the peers it names may reach that port (evaluated with NetworkPolicy
 * semantics, see network-reach.ts), and every port any pod serves, in either transport, has a
 * row. A port added to a pod without a line in the table, or a policy that lets in more (or
 * fewer) peers than the table says, fails here. No CNI enforces the policies on this machine.
 */
const ALIASES: Record<string, Component | "scraper" | "operator"> = {
  scraper: "scraper",
  operator: "operator",
  ubscore: "ubscore",
  gateway: "gateway",
  gateways: "gateway",
  matching: "matching",
  settlement: "settlement",
  tigerbeetle: "tigerbeetle",
  kafka: "kafka",
  scylladb: "store",
  store: "store",
};

interface Row {
  readonly pod: Component;
  /** undefined: any port. */
  readonly ports?: { port: number; protocol: Protocol }[];
  /** Sorted source names; "any" rows hold every source, the stranger included. */
  readonly from: string[];
}

const everyone = ["intruder", "operator", "scraper", "stranger", ...COMPONENTS].sort();
const words = (cell: string) =>
  cell
    .replace(/\([^)]*\)/g, "")
    .split(",")
    .map((w) => w.trim().toLowerCase())
    .filter(Boolean);

async function documentedRows(): Promise<Row[]> {
  const doc = await readFile(new URL("../../docs/security.md", import.meta.url), "utf8");
  const section = doc.slice(doc.indexOf("### NetworkPolicies"));
  const table = section.slice(section.indexOf("| pod | port | from |")).split("\n\n")[0]!;
  return table
    .split("\n")
    .slice(2)
    .map((line) => {
      const [pod, ports, from] = line
        .split("|")
        .slice(1, 4)
        .map((c) => c.trim());
      const alias = (w: string) => {
        const c = ALIASES[w];
        if (!c) throw new Error(`docs/security.md: unknown component '${w}' in '${line}'`);
        return c;
      };
      const portWords = words(ports!);
      const target = alias(words(pod!)[0]!);
      if (target === "scraper" || target === "operator")
        throw new Error(`docs/security.md: '${line}' names no pod`);
      return {
        pod: target,
        ports:
          portWords[0] === "any"
            ? undefined
            : portWords.map((p) => {
                const [port, protocol] = p.split("/");
                return { port: Number(port), protocol: (protocol?.toUpperCase() ?? "TCP") as Protocol };
              }),
        from: words(from!)[0] === "any" ? everyone : [...new Set(words(from!).map(alias))].sort(),
      };
    });
}

async function exampleWith(transport: "tcp" | "aeron"): Promise<Exchange> {
  const ex = await example();
  return { ...ex, spec: { ...ex.spec, transport } };
}

describe.each(["tcp", "aeron"] as const)(
  "the NetworkPolicy table of docs/security.md, transport %s",
  (transport) => {
    it("admits on each documented port exactly the documented peers", async () => {
      const rows = await documentedRows();
      expect(rows.length).toBeGreaterThan(8);
      const { who } = reachOf(renderExchange(await exampleWith(transport), facts).objects, "demo");
      // Rows add up: a port is open to the peers of every row of its pod that covers it.
      const documented = (pod: Component, port: number, protocol: Protocol) =>
        [
          ...new Set(
            rows
              .filter(
                (r) =>
                  r.pod === pod &&
                  (!r.ports || r.ports.some((p) => p.port === port && p.protocol === protocol)),
              )
              .flatMap((r) => r.from),
          ),
        ].sort();
      for (const row of rows) {
        // An "any port" row: a port no other row names stands for the rest.
        for (const { port, protocol } of row.ports ?? [{ port: 7000, protocol: "TCP" as const }]) {
          expect(who(row.pod, port, protocol), `${row.pod} ${port}/${protocol}`).toEqual(
            documented(row.pod, port, protocol),
          );
        }
      }
    });

    it("has a row for every port a pod serves", async () => {
      const rows = await documentedRows();
      const { served } = reachOf(renderExchange(await exampleWith(transport), facts).objects, "demo");
      for (const component of COMPONENTS) {
        for (const { port, protocol } of served(component)) {
          const documented = rows.some(
            (r) =>
              r.pod === component &&
              (!r.ports || r.ports.some((p) => p.port === port && p.protocol === protocol)),
          );
          expect(documented, `${component} serves ${port}/${protocol}`).toBe(true);
        }
      }
    });
  },
);
