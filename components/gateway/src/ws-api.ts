import { createHash, randomBytes } from "node:crypto";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import type { WebSocket } from "ws";
import type { CommandResult, UbsCommand } from "../../ubscore/src/index.ts";
import type { RequestAuthenticator, SignedRequest } from "./auth.ts";
import { weightOf } from "./endpoint.ts";
import { ApiError, errors, toApiError } from "./errors.ts";
import type { ApiKey } from "./keys.ts";
import type { ApiCall, Operations } from "./operations.ts";
import { Params } from "./params.ts";
import { type OrderVerdict, type RateLimiter, weightRefusal } from "./rate-limit.ts";
import { isRequestId, type RequestId } from "./stream-requests.ts";
import { drop, type StreamHub } from "./streams.ts";

/**
 * Binance's WebSocket API on /ws-api/v3: one JSON request per text frame, `{id, method, params}`,
 * answered `{id, status, result | error: {code, msg}, rateLimits}`. The endpoints' methods run
 * the REST endpoints' declarations themselves (an endpoint's `ws`, endpoint.ts): the same
 * parameters, handler and weight, against the same limits; only what has
 * no REST twin lives here: the session (logon, status, logout) and user data subscriptions.
 *
 * A request is signed as Binance documents it: every parameter but `signature`, sorted by name,
 * as `name=value` joined by `&`; the key is the `apiKey` parameter. After `session.logon`, signed
 * requests may leave out apiKey and signature (the session's key signs for them) but still carry
 * their timestamp.
 */
export interface WsApiOptions {
  readonly operations: Operations;
  readonly hub: StreamHub;
  readonly auth: RequestAuthenticator;
  readonly limiter: RateLimiter;
  readonly clock: () => number;
  /** A command to UBSCore, its refusal in Binance's terms. */
  readonly submit: (cmd: UbsCommand) => Promise<CommandResult>;
}

/** The weight of a method with no REST twin (the session and subscriptions). */
const SESSION_WEIGHT = 2;

/** The methods with no REST twin, served here. */
const SESSION_METHODS = [
  "session.logon",
  "session.status",
  "session.logout",
  "userDataStream.subscribe",
  "userDataStream.subscribe.signature",
  "userDataStream.unsubscribe",
];

/** One connection's state: whom it is logged on as, and its user data subscriptions. */
interface Session {
  key?: ApiKey;
  authorizedSince?: number;
  readonly connectedSince: number;
  /** Names this session's requests for replay protection (they carry no signature of their own). */
  readonly secret: Buffer;
  readonly subscriptions: Map<number, () => void>;
  nextSubscriptionId: number;
  /** The connection's request log: each request's lines name it. */
  readonly log: FastifyBaseLogger;
}

interface Request {
  readonly id: RequestId;
  readonly method: string;
  /** Every parameter as text, as it is signed. */
  readonly params: ReadonlyMap<string, string>;
}

export function installWsApi(app: FastifyInstance, options: WsApiOptions): void {
  app.register(async (ws) => {
    ws.get("/ws-api/v3", { websocket: true }, (socket, req) => {
      let sub: ReturnType<StreamHub["connect"]>;
      try {
        // Counted with the stream connections per address; each request weighed (below).
        sub = options.hub.connect(socket, req.ip, false, true);
      } catch (e) {
        const error = toApiError(e);
        socket.send(JSON.stringify({ id: null, status: error.httpStatus, error: errorBody(error) }));
        drop(socket, error.message.slice(0, 120));
        return;
      }
      const session: Session = {
        connectedSince: options.clock(),
        secret: randomBytes(32),
        subscriptions: new Map(),
        nextSubscriptionId: 0,
        log: req.log,
      };
      socket.once("close", () => {
        for (const end of session.subscriptions.values()) end();
      });
      socket.on("message", (data, isBinary) => {
        if (isBinary) return drop(socket, "requests are JSON text frames");
        void answer(options, socket, sub.ip, session, String(data)).then((reply) => {
          if (socket.readyState !== socket.OPEN) return;
          socket.send(JSON.stringify(reply));
          // A banned address is told once per request it keeps sending, and then let go.
          if (reply.status === 418) drop(socket, "banned: too many requests");
        });
      });
    });
  });
}

/** Runs one frame's request; its answer, never a throw. */
async function answer(
  options: WsApiOptions,
  socket: WebSocket,
  ip: string,
  session: Session,
  text: string,
): Promise<Record<string, unknown>> {
  const parsed = parseRequest(text);
  if ("error" in parsed)
    return { id: parsed.id, status: parsed.error.httpStatus, error: errorBody(parsed.error) };
  const request = parsed.request;
  const showLimits = request.params.get("returnRateLimits") !== "false";
  let orders: OrderVerdict | undefined;
  let used = 0;
  const frame = (fields: Record<string, unknown>) => ({
    id: request.id,
    ...fields,
    ...(showLimits ? { rateLimits: rateLimits(options.limiter, used, orders) } : {}),
  });
  try {
    // A Map, not an object: a method named like an Object property ("toString") is no endpoint.
    const operation = options.operations.get(request.method);
    if (operation === undefined && !SESSION_METHODS.includes(request.method)) unknownMethod();
    const weight = operation ? weightOf(operation.spec, queryOf(request.params)) : SESSION_WEIGHT;
    const verdict = options.limiter.request(ip, weight);
    used = verdict.used;
    const refused = weightRefusal(verdict, options.limiter.limits, ip, options.clock());
    if (refused) throw refused;
    const call = wsCall(options, session, request, (v) => {
      orders = v;
    });
    const result = operation
      ? await operation.run(call)
      : await sessionMethod(options, socket, session, request, call);
    return frame({ status: 200, result });
  } catch (e) {
    const error = toApiError(e);
    return frame({ status: error.httpStatus, error: errorBody(error) });
  }
}

/** The frame's request, or why it is none (with its id once that is known). */
function parseRequest(text: string): { request: Request } | { error: ApiError; id: RequestId } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { error: new ApiError(400, -1135, "Invalid JSON request."), id: null };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body))
    return { error: new ApiError(400, -1135, "Invalid JSON request: expected an object."), id: null };
  const { id = null, method, params = {}, ...rest } = body as Record<string, unknown>;
  if (!isRequestId(id)) {
    const why = "Invalid 'id': an unsigned integer or a string of at most 36 characters.";
    return { error: new ApiError(400, -1135, why), id: null };
  }
  const fail = (error: ApiError) => ({ error, id });
  if (Object.keys(rest).length > 0) return fail(errors.notRequired(Object.keys(rest)[0]!));
  if (typeof method !== "string") return fail(errors.mandatory("method"));
  if (typeof params !== "object" || params === null || Array.isArray(params))
    return fail(new ApiError(400, -1135, "Invalid 'params' in JSON request; expected an object."));
  const values = new Map<string, string>();
  for (const [name, value] of Object.entries(params as Record<string, unknown>)) {
    if (!isScalar(value)) return fail(errors.illegalChars(name));
    values.set(name, String(value));
  }
  return { request: { id, method, params: values } };
}

/** A parameter's value as JSON may carry one: text, a finite number or a boolean. */
function isScalar(value: unknown): value is string | number | boolean {
  return (
    typeof value === "string" ||
    (typeof value === "number" && Number.isFinite(value)) ||
    typeof value === "boolean"
  );
}

/** The request's parameters as a query string: how REST weighs the same parameters. */
function queryOf(params: ReadonlyMap<string, string>): string {
  return new URLSearchParams([...params]).toString();
}

/** What the endpoint reads: every parameter but the credentials and the WebSocket API's own. */
function endpointParams(request: Request): Params {
  const skip = new Set(["apiKey", "signature", "returnRateLimits"]);
  return new Params([...request.params].filter(([name]) => !skip.has(name)));
}

function wsCall(
  options: WsApiOptions,
  session: Session,
  request: Request,
  onOrders: (verdict: OrderVerdict) => void,
): ApiCall {
  const named = (): ApiKey => {
    const apiKey = request.params.get("apiKey");
    if (apiKey !== undefined) return options.auth.apiKey(apiKey);
    return session.key ?? errors.mandatory("apiKey").throwSelf();
  };
  return {
    params: () => endpointParams(request),
    keyed: () => ({ key: named(), params: endpointParams(request) }),
    signed: () => signedRequest(options.auth, session, request),
    orders: onOrders,
    log: session.log,
  };
}

/**
 * A signed request: by its own signature, or else by the session's logon. A session's request
 * is named for replay protection by the session's secret and the request itself: a repeat of
 * the same request within its window is refused, as the same signed request would be.
 */
function signedRequest(auth: RequestAuthenticator, session: Session, request: Request): SignedRequest {
  const signature = request.params.get("signature");
  const params = endpointParams(request);
  if (signature === undefined && session.key && !request.params.has("apiKey")) {
    const validUntil = auth.timely(params);
    const digest = createHash("sha256").update(session.secret).update(payloadOf(request)).digest();
    return { key: session.key, params, once: { signature: digest, validUntil } };
  }
  const apiKey = request.params.get("apiKey") ?? errors.mandatory("apiKey").throwSelf();
  if (signature === undefined) throw errors.mandatory("signature");
  const key = auth.apiKey(apiKey);
  const payload = payloadOf(request);
  // Binance's Python clients sign the form-encoded spelling of the same parameters (it differs
  // only where a value holds a character form encoding escapes): either spelling is taken.
  const encoded = new URLSearchParams(sortedParams(request)).toString();
  if (encoded === payload) return auth.check(key, payload, signature, params);
  try {
    return auth.check(key, payload, signature, params);
  } catch (e) {
    if (!(e instanceof ApiError && e.code === -1022)) throw e;
    return auth.check(key, encoded, signature, params);
  }
}

/** Every parameter but the signature, sorted by name: what is signed. */
function sortedParams(request: Request): [string, string][] {
  return [...request.params]
    .filter(([name]) => name !== "signature")
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Binance's signed payload: `name=value` of the sorted parameters, joined by `&`. */
function payloadOf(request: Request): string {
  return sortedParams(request)
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

async function sessionMethod(
  options: WsApiOptions,
  socket: WebSocket,
  session: Session,
  request: Request,
  call: ApiCall,
): Promise<unknown> {
  switch (request.method) {
    case "session.logon": {
      // Taken once by UBSCore: a logon frame replayed on another connection logs nobody on.
      const { key, params, once } = call.signed();
      params.done();
      await options.submit({ kind: "takeSignature", userId: key.userId, time: options.clock(), ...once });
      session.key = key;
      session.authorizedSince = options.clock();
      return sessionStatus(options, session);
    }
    case "session.status":
      call.params().done();
      return sessionStatus(options, session);
    case "session.logout":
      call.params().done();
      session.key = undefined;
      session.authorizedSince = undefined;
      return sessionStatus(options, session);
    case "userDataStream.subscribe": {
      call.params().done();
      const key = session.key ?? notLoggedOn();
      return { subscriptionId: subscribe(options, socket, session, key.userId) };
    }
    case "userDataStream.subscribe.signature": {
      const { key, params, once } = call.signed();
      params.done();
      await options.submit({ kind: "takeSignature", userId: key.userId, time: options.clock(), ...once });
      return { subscriptionId: subscribe(options, socket, session, key.userId) };
    }
    case "userDataStream.unsubscribe": {
      // One subscription, or all of them.
      const params = call.params();
      const id = params.optionalInt("subscriptionId");
      params.done();
      const ids = id === undefined ? [...session.subscriptions.keys()] : [id];
      for (const one of ids) {
        const end = session.subscriptions.get(one) ?? noSuchSubscription();
        end();
        session.subscriptions.delete(one);
      }
      return {};
    }
    default:
      return unknownMethod();
  }
}

/** The user's events on this connection, each as `{subscriptionId, event}`. */
function subscribe(options: WsApiOptions, socket: WebSocket, session: Session, userId: number): number {
  const subscriptionId = session.nextSubscriptionId++;
  const end = options.hub.subscribeUser(userId, (event) => {
    // A reader this far behind would hold the gateway's memory hostage: it is dropped.
    if (socket.bufferedAmount > options.hub.limits.maxBufferedBytes)
      drop(socket, "too slow: send buffer full");
    else socket.send(JSON.stringify({ subscriptionId, event }));
  });
  session.subscriptions.set(subscriptionId, end);
  return subscriptionId;
}

function sessionStatus(options: WsApiOptions, session: Session) {
  return {
    apiKey: session.key?.apiKey ?? null,
    authorizedSince: session.authorizedSince ?? null,
    connectedSince: session.connectedSince,
    returnRateLimits: true,
    serverTime: options.clock(),
    userDataStream: session.subscriptions.size > 0,
  };
}

/** Binance's rateLimits: the request weight used this minute, and the order counts of an order. */
function rateLimits(limiter: RateLimiter, used: number, orders: OrderVerdict | undefined) {
  const [weight, tenSeconds, day] = limiter.describe();
  return [
    ...(orders
      ? [
          { ...tenSeconds!, count: orders.count10s },
          { ...day!, count: orders.count1d },
        ]
      : []),
    { ...weight!, count: used },
  ];
}

function errorBody(error: ApiError): Record<string, unknown> {
  return { code: error.code, msg: error.message, ...error.extra };
}

function unknownMethod(): never {
  throw new ApiError(400, -1000, "Unknown method.");
}

function notLoggedOn(): never {
  throw new ApiError(401, -2015, "Invalid API-key, IP, or permissions for action: log on first.");
}

function noSuchSubscription(): never {
  throw new ApiError(400, -1130, "Data sent for parameter 'subscriptionId' is not valid.");
}
