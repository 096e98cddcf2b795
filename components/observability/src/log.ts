/**
 * Structured logs: one JSON object per line and event, with its time, level, component and
 * exchange, the message, and the ids it concerns (requestId, orderId, ...). Nothing secret is
 * ever written: values under secret-sounding keys are replaced, and a `signature` in a query
 * string is cut out, wherever they appear (docs/operability.md, "Logs").
 */
export type Level = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export type LogContext = {
  readonly component: string;
  readonly exchange: string;
};

const SECRET_KEY =
  /secret|signature|token|password|authorization|cookie|apikey|api_key|x-mbx-apikey|linkkey|listenkey|^key$/i;
export const REDACTED = "[redacted]";
/** A request's signature and a listen key (a bearer credential for a user's stream) in a query string. */
const SECRET_PARAM = /([?&](?:signature|listenKey)=)[^&\s"]*/gi;
/** A listen key as a stream name: `/ws/<key>`, or one of `/stream?streams=a/b/c` without an `@`. */
const WS_KEY_PATH = /(\/ws\/)[^/?@\s"]+(?=[?\s"]|$)/g;
const STREAMS_PARAM = /([?&]streams=)([^&\s"]*)/g;

/** A URL, or any text that may hold one, without the secrets a request's URL can carry. */
export function redactUrl(text: string): string {
  return text
    .replace(SECRET_PARAM, `$1${REDACTED}`)
    .replace(WS_KEY_PATH, `$1${REDACTED}`)
    .replace(
      STREAMS_PARAM,
      (_m, head: string, list: string) =>
        `${head}${list
          .split("/")
          .map((name) => (name.includes("@") || name.includes("%40") ? name : REDACTED))
          .join("/")}`,
    );
}

/** `value` with every secret replaced: by key anywhere in it, and secrets in URLs in any text. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactUrl(value);
  if (value === null || typeof value !== "object") return value;
  // Deeper than any event of ours nests: dropped whole, since it cannot be checked cheaply.
  if (depth > 8) return "[too deep]";
  if (value instanceof Error) return { type: value.name, message: redact(value.message) };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: LogFields = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) ? REDACTED : redact(v, depth + 1);
  }
  return out;
}

export class Log {
  constructor(
    readonly context: LogContext & LogFields,
    private readonly write: (line: string) => void = (line) => process.stderr.write(line),
  ) {}

  /** A log whose lines carry `fields` too (an order id, a peer). */
  child(fields: LogFields): Log {
    return new Log({ ...this.context, ...fields }, this.write);
  }

  debug(msg: string, fields?: LogFields): void {
    this.event("debug", msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.event("info", msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.event("warn", msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.event("error", msg, fields);
  }

  private event(level: Level, msg: string, fields: LogFields | undefined): void {
    const line = { time: new Date().toISOString(), level, ...this.context, msg, ...fields };
    this.write(`${JSON.stringify(redact(line), bigintAsString)}\n`);
  }
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

let processLog = new Log({ component: "bourse", exchange: "bourse" });

/** The process's log: set once at start by `bourse <component>` (component and exchange name). */
export function log(): Log {
  return processLog;
}

export function configureLog(context: LogContext & LogFields, write?: (line: string) => void): Log {
  processLog = new Log(context, write);
  return processLog;
}

/**
 * The options of fastify's logger (pino) for an HTTP API of `component`: the same line shape as
 * `Log` (level names, component, exchange, requestId), the API key header, the operator token
 * and a request's signature never written.
 */
export function httpLogOptions(component: string, stream?: NodeJS.WritableStream) {
  return {
    level: "info",
    base: { component, exchange: processLog.context.exchange },
    messageKey: "msg",
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: ['req.headers["x-mbx-apikey"]', "req.headers.authorization"], censor: REDACTED },
    serializers: {
      req: (req: { method: string; url: string; ip?: string }) => ({
        method: req.method,
        url: redactUrl(req.url),
        ip: req.ip,
      }),
    },
    ...(stream && { stream }),
  };
}
