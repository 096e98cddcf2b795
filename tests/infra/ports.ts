import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * A free TCP port on the loopback interface for a server a test starts, chosen below the kernel's
 * ephemeral range. A port the kernel hands out (listen on 0) is from that range, and a Java
 * server binds it seconds later: meanwhile any outgoing connection on the machine may take it as
 * its source port (seen in CI: Cassandra's storage port taken, "in use by another process"). Below
 * the range only listeners can take a port, and each pick is random and checked free.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  const floor = 10_000;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = floor + Math.floor(Math.random() * (low - floor));
    // Never the same port twice in one process: a server may not have bound the last one yet.
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port found between ${floor} and ${low}`);
}

const handedOut = new Set<number>();

function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low && high && low > 11_000) return [low, high];
  } catch {
    // Not Linux: the IANA dynamic range.
  }
  return [49_152, 65_535];
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
