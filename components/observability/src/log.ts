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
  /secret|signature|token|password|authorization|cookie|apikey|api_key|x-mbx-apikey|linkkey|^key$/i;
const SIGNATURE_PARAM = /([?&]signature=)[^&\s"]*/gi;
export const REDACTED = "[redacted]";

/** `value` with every secret replaced: by key anywhere in it, and signatures in query strings. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return value.replace(SIGNATURE_PARAM, `$1${REDACTED}`);
  if (value === null || typeof value !== "object" || depth > 8) return value;
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
        url: req.url.replace(SIGNATURE_PARAM, `$1${REDACTED}`),
        ip: req.ip,
      }),
    },
    ...(stream && { stream }),
  };
}
