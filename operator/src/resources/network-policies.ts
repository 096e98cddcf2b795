import type { V1NetworkPolicy, V1NetworkPolicyIngressRule } from "@kubernetes/client-node";
import type { Exchange } from "../exchange.ts";
import { SCRAPER_NAMESPACE_LABEL } from "../observability.ts";
import { meta, objectName, PORTS, selector } from "./identity.ts";
import type { Manifest } from "./rendered.ts";

/**
 * Who may open which port of which pod: each internal port only from the components that use it
 * (ingress only; the links authenticate each peer on top, transport/src/link.ts). The public
 * ports (trading, the operator API behind its bearer token) stay open to any source. A pod
 * selected by a policy refuses every other ingress, so each component's policy lists all of its
 * ports. Infrastructure the spec points elsewhere (external) gets none.
 */
type Peer = "ubscore" | "gateway" | "matching" | "settlement" | "tigerbeetle" | "kafka" | "store";
interface Rule {
  readonly ports: readonly (number | { port: number; protocol: "UDP" })[];
  /** The components allowed; none (and no namespaces) means any source. */
  readonly from?: readonly Peer[];
  /** Any pod in the namespaces with these labels (the metrics scrapers'). */
  readonly fromNamespaces?: Record<string, string>;
  /** The operator's pods (in this namespace), which read each component's health for the status. */
  readonly fromOperatorIn?: string;
}

const udp = (port: number) => ({ port, protocol: "UDP" as const });

/** Each component's metrics port: from the scrapers' namespaces, and the operator's pods. */
const componentRules = (operatorNamespace?: string): [Peer, Rule[]][] => {
  const SCRAPERS: Rule = {
    ports: [PORTS.metrics],
    fromNamespaces: SCRAPER_NAMESPACE_LABEL,
    fromOperatorIn: operatorNamespace,
  };
  return [
    [
      "ubscore",
      [
        { ports: [PORTS.transport, udp(PORTS.aeron)], from: ["gateway"] },
        // Matching's Aeron replies to UBSCore, its client.
        { ports: [udp(PORTS.aeronReply)], from: ["matching"] },
        { ports: [PORTS.admin] },
        SCRAPERS,
      ],
    ],
    [
      "gateway",
      [{ ports: [PORTS.trading] }, { ports: [udp(PORTS.aeronReply)], from: ["ubscore"] }, SCRAPERS],
    ],
    ["matching", [{ ports: [PORTS.matching, udp(PORTS.matchingAeron)], from: ["ubscore"] }, SCRAPERS]],
    ["settlement", [{ ports: [PORTS.settlement], from: ["ubscore"] }, SCRAPERS]],
  ];
};

/** The infrastructure's rules, for the systems the operator provisions. */
function infrastructureRules(ex: Exchange): [Peer, Rule[]][] {
  const { tigerbeetle, kafka, store } = ex.spec;
  const rules: [Peer, Rule[]][] = [];
  if (!tigerbeetle.external) {
    rules.push([
      "tigerbeetle",
      [{ ports: [PORTS.tigerbeetle], from: ["ubscore", "settlement", "tigerbeetle"] }],
    ]);
  }
  if (!kafka.external) {
    rules.push([
      "kafka",
      [
        { ports: [PORTS.kafka], from: ["ubscore", "settlement", "kafka"] },
        { ports: [PORTS.controller], from: ["kafka"] },
      ],
    ]);
  }
  if (!store.external) {
    rules.push([
      "store",
      [
        // The gateways read history from the store; the nodes gossip among themselves on any port.
        { ports: [PORTS.cql], from: ["ubscore", "gateway", "settlement"] },
        { ports: [], from: ["store"] },
      ],
    ]);
  }
  return rules;
}

export function networkPolicies(ex: Exchange, operatorNamespace?: string): Manifest<V1NetworkPolicy>[] {
  return [...componentRules(operatorNamespace), ...infrastructureRules(ex)].map(([component, ingress]) => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta(ex, objectName(ex, component), component),
    spec: {
      podSelector: { matchLabels: selector(ex, component) },
      policyTypes: ["Ingress"],
      ingress: ingress.map((rule) => ingressRule(ex, rule)),
    },
  }));
}

function ingressRule(ex: Exchange, rule: Rule): V1NetworkPolicyIngressRule {
  return {
    ...(rule.ports.length > 0 && {
      ports: rule.ports.map((p) =>
        typeof p === "number" ? { protocol: "TCP", port: p } : { protocol: p.protocol, port: p.port },
      ),
    }),
    ...((rule.from || rule.fromNamespaces) && {
      from: [
        ...(rule.from ?? []).map((peer) => ({ podSelector: { matchLabels: selector(ex, peer) } })),
        ...(rule.fromNamespaces ? [{ namespaceSelector: { matchLabels: rule.fromNamespaces } }] : []),
        ...(rule.fromOperatorIn ? [operatorPeer(rule.fromOperatorIn)] : []),
      ],
    }),
  };
}

/** The operator's pods as the chart labels them, in the namespace it runs in (set by the API server, not forgeable). */
function operatorPeer(namespace: string) {
  return {
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
    podSelector: {
      matchLabels: { "app.kubernetes.io/name": "bourse-operator", "app.kubernetes.io/component": "operator" },
    },
  };
}
