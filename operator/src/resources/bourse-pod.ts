import type {
  V1Container,
  V1ContainerPort,
  V1EnvVar,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import { type AeronPeer, driverJavaOptions, driverResources, shmQuantity } from "../aeron.ts";
import { DEFAULT_RESOURCES, orDefault } from "../defaults.ts";
import type { Exchange } from "../exchange.ts";
import { componentProbes } from "../observability.ts";
import { CONFIG_HASH_ANNOTATION, LINK_KEYS, linkKeysSecret, objectName, PORTS } from "./identity.ts";
import { type PodParts, restrictedContainer } from "./workloads.ts";

/** What every Bourse component's pod is made of: its container, configuration, link keys, media driver. */
const CONFIG_PATH = "/etc/bourse/bourse.json";
const LINK_KEY_DIR = "/etc/bourse-links";

export interface LinkKeys {
  readonly volume: V1Volume;
  readonly mount: V1VolumeMount;
  readonly env: V1EnvVar;
}

/** A component's link keys: the Secret's items it needs, read-only to the pod's group. */
export function linkKeys(ex: Exchange, c: keyof typeof LINK_KEYS): LinkKeys {
  return {
    volume: {
      name: "link-keys",
      secret: {
        secretName: linkKeysSecret(ex),
        items: LINK_KEYS[c].map((key) => ({ key, path: key })),
        defaultMode: 0o440,
      },
    },
    mount: { name: "link-keys", mountPath: LINK_KEY_DIR, readOnly: true },
    env: { name: "BOURSE_LINK_KEY_DIR", value: LINK_KEY_DIR },
  };
}

/** A Bourse component's container: `bourse <command>` on the rendered configuration, locked down. */
export function bourseContainer(ex: Exchange, command: string): V1Container {
  return {
    name: command,
    image: `${ex.spec.image.repository}:${ex.spec.image.tag}`,
    imagePullPolicy: ex.spec.image.pullPolicy,
    args: [command, "--config", CONFIG_PATH],
    securityContext: restrictedContainer(true),
  };
}

/** Under a read-only root a Bourse component reads its configuration, writes /tmp and its data. */
export const BOURSE_MOUNTS: V1VolumeMount[] = [
  { name: "config", mountPath: "/etc/bourse", readOnly: true },
  { name: "tmp", mountPath: "/tmp" },
];
export const DATA_MOUNT: V1VolumeMount = { name: "data", mountPath: "/var/lib/bourse" };

export function bourseVolumes(ex: Exchange): V1Volume[] {
  return [
    { name: "config", configMap: { name: objectName(ex, "config") } },
    { name: "tmp", emptyDir: {} },
  ];
}

/**
 * With `transport: aeron`, each side talks to its own media-driver sidecar, which carries the
 * streams over UDP. A server subscribes on its pod's endpoint: UBSCore for gateways, matching for
 * UBSCore (the shared configuration names the endpoints as their clients dial them, so the
 * servers' pods override them to listen). A client, a gateway of UBSCore or UBSCore of matching,
 * takes replies on its own pod IP (the downward API), which it announces when it connects.
 */
function aeronEnv(c: AeronPeer): V1EnvVar[] {
  const replies = [
    { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
    { name: "BOURSE_AERON_REPLY_CHANNEL", value: `aeron:udp?endpoint=$(POD_IP):${PORTS.aeronReply}` },
  ];
  switch (c) {
    case "ubscore":
      return [
        { name: "BOURSE_AERON_CHANNEL", value: `aeron:udp?endpoint=0.0.0.0:${PORTS.aeron}` },
        ...replies,
      ];
    case "matching":
      return [
        { name: "BOURSE_MATCHING_CHANNEL", value: `aeron:udp?endpoint=0.0.0.0:${PORTS.matchingAeron}` },
      ];
    case "gateway":
      return replies;
  }
}

export const AERON_REPLY_PORT: V1ContainerPort = {
  name: "aeron-reply",
  containerPort: PORTS.aeronReply,
  protocol: "UDP",
};

/** Where a component on the Aeron media driver finds it (transport: aeron); nothing over TCP. */
function aeronDir(ex: Exchange): { env: V1EnvVar[]; mounts: V1VolumeMount[] } {
  const aeron = ex.spec.transport === "aeron";
  return {
    env: aeron ? [{ name: "AERON_DIR", value: "/dev/shm/aeron" }] : [],
    mounts: aeron ? [{ name: "aeron", mountPath: "/dev/shm" }] : [],
  };
}

/**
 * A hot-path component's container (UBSCore, matching, a gateway): its link keys, and with
 * transport: aeron the media driver's directory and its own Aeron channels. `more` is what only
 * this component has, after what they share.
 */
export function hotPathContainer(
  ex: Exchange,
  c: AeronPeer,
  keys: LinkKeys,
  ports: V1ContainerPort[],
  more: { env?: V1EnvVar[]; mounts?: V1VolumeMount[]; slowStart?: boolean } = {},
): V1Container {
  const aeron = ex.spec.transport === "aeron";
  return {
    ...bourseContainer(ex, c),
    env: [...aeronDir(ex).env, keys.env, ...(aeron ? aeronEnv(c) : []), ...(more.env ?? [])],
    ports,
    ...componentProbes(more.slowStart),
    resources: orDefault(ex.spec[c].resources, DEFAULT_RESOURCES.bourse),
    volumeMounts: [...BOURSE_MOUNTS, keys.mount, ...aeronDir(ex).mounts, ...(more.mounts ?? [])],
  };
}

/**
 * A hot-path component's pod. With transport: aeron, the media-driver sidecar and the
 * memory-backed /dev/shm they share, sized for the logs this pod's driver holds (aeron.ts); with
 * tcp, no driver at all.
 */
export function componentPod(
  ex: Exchange,
  peer: AeronPeer,
  container: V1Container,
  configHash: string,
  linkKeysVolume: V1Volume,
): PodParts {
  const aeron = ex.spec.transport === "aeron";
  return {
    annotations: { [CONFIG_HASH_ANNOTATION]: configHash },
    ...(aeron && { initContainers: [mediaDriver(ex, peer)] }),
    containers: [container],
    volumes: [
      ...bourseVolumes(ex),
      linkKeysVolume,
      // Aeron's log buffers and CnC file, shared by the driver and the component: memory-backed.
      ...(aeron ? [{ name: "aeron", emptyDir: { medium: "Memory", sizeLimit: shmQuantity(ex, peer) } }] : []),
    ],
  };
}

/**
 * The Aeron media driver as a native sidecar (an init container that keeps running): it starts
 * before the component, is stopped after it, and the component sees its CnC file at start.
 */
function mediaDriver(ex: Exchange, peer: AeronPeer): V1Container {
  return {
    name: "media-driver",
    image: `${ex.spec.image.repository}-media-driver:${ex.spec.image.tag}`,
    imagePullPolicy: ex.spec.image.pullPolicy,
    restartPolicy: "Always",
    env: [
      { name: "AERON_DIR", value: "/dev/shm/aeron" },
      { name: "JAVA_TOOL_OPTIONS", value: driverJavaOptions(ex) },
    ],
    resources: driverResources(ex, peer),
    startupProbe: {
      exec: { command: ["test", "-e", "/dev/shm/aeron/cnc.dat"] },
      periodSeconds: 1,
      failureThreshold: 60,
    },
    volumeMounts: [
      { name: "aeron", mountPath: "/dev/shm" },
      { name: "tmp", mountPath: "/tmp" },
    ],
    securityContext: restrictedContainer(true),
  };
}
