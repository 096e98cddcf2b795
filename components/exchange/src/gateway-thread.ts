import { Writable } from "node:stream";
import { parentPort, workerData } from "node:worker_threads";
import { SharedCapCounter } from "../../gateway/src/index.ts";
import { familiesNamed } from "../../observability/src/index.ts";
import { messagePortChannel } from "../../transport/src/index.ts";
import { ClosingStack } from "./closing-stack.ts";
import type { FromGatewayThread, GatewayThreadData, ToGatewayThread } from "./gateway-threads.ts";
import { measureReplica } from "./observability.ts";
import { serveReplica } from "./processes.ts";

/**
 * A gateway thread (gateway.threads): the trading API (HTTP and WebSocket parsing, signatures,
 * parameters, streams) on a replica of UBSCore, which runs on the process's main thread and
 * reaches this one through a MessagePort. Every thread listens on the same port (SO_REUSEPORT),
 * the kernel spreading connections between them. It stops when told to, or when its replica loses
 * UBSCore (the main thread then starts another).
 */
const port = parentPort!;
const { config, ubscore, listen, log, caps, thread } = workerData as GatewayThreadData;
const send = (message: FromGatewayThread) => port.postMessage(message);
/** What this thread measures for the process's /metrics, served by the main thread. */
const GATEWAY_METRICS = /^bourse_gateway_/;

/** This thread's request log, written by the main thread to where the exchange logs. */
function forwardedLog(): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      send({ kind: "log", chunk: chunk.toString() });
      done();
    },
  });
}

const opened = new ClosingStack();
try {
  const channel = messagePortChannel(ubscore);
  const logTo = log === "forward" ? forwardedLog() : log;
  const { tradingUrl, replica } = await serveReplica(config, logTo, channel, opened, {
    listen,
    caps: new SharedCapCounter(caps, thread),
  });
  void replica.closed.then((error) => send({ kind: "lost", message: error?.message ?? "UBSCore closed" }));
  // Its replica's gauges, and with them every gateway family, registered before the main thread
  // first asks, which learns from the answer what to serve (gateway-thread-metrics.ts).
  opened.defer(measureReplica(replica));
  port.on("message", (message: ToGatewayThread) => {
    if (message.kind === "metrics") {
      void familiesNamed(GATEWAY_METRICS).then((families) =>
        send({ kind: "metrics", id: message.id, families }),
      );
      return;
    }
    void opened.close().finally(() => {
      send({ kind: "closed" });
      port.close();
    });
  });
  send({ kind: "ready", tradingUrl });
} catch (e) {
  await opened.close().catch(() => {
    // The start's own error is the one to report.
  });
  const error = e as Error & { code?: string };
  send({ kind: "failed", message: error.message, code: error.code });
  port.close();
}
