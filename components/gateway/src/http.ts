import type { FastifyInstance, FastifyReply } from "fastify";
import { gatewayMetrics, httpLogOptions } from "../../observability/src/index.ts";
import { ApiError, errors, toApiError } from "./errors.ts";

/**
 * Logging for both APIs: JSON lines of `component` (observability/src/log.ts), never the API key
 * header, the operator token nor a request's signature.
 */
export function loggerOptions(logger: boolean | NodeJS.WritableStream | undefined, component: string) {
  if (!logger) return false;
  return httpLogOptions(component, logger === true ? undefined : logger);
}

/** Runs a change against UBSCore; its errors in Binance's terms, `unknownOrder` for -2013. */
export type Submitter = <T>(run: () => Promise<T>, unknownOrder?: () => ApiError) => Promise<T>;

/**
 * A change that gets no answer within `timeoutMs` (UBSCore busy, or the matching service away)
 * is answered -1007: it was sent and may still happen, as Binance says of its own timeouts.
 */
export function submitter(timeoutMs: number): Submitter {
  // One promise settled by whichever comes first, not an async function racing a second
  // promise: this runs for every order.
  return (run, unknownOrder) =>
    new Promise((resolve, reject) => {
      const fail = (e: unknown) => {
        clearTimeout(timer);
        const err = toApiError(e);
        reject(unknownOrder && err.code === -2013 ? unknownOrder() : err);
      };
      const timer = setTimeout(() => fail(errors.backendTimeout()), timeoutMs);
      try {
        run().then((value) => {
          clearTimeout(timer);
          resolve(value);
        }, fail);
      } catch (e) {
        fail(e);
      }
    });
}

interface ValidationFailure extends Error {
  readonly validation: { instancePath: string; message?: string; params: Record<string, unknown> }[];
  readonly validationContext?: string;
}

/** A schema's refusal, naming the field (and an unknown property by its name). */
function validationError(error: ValidationFailure): ApiError {
  const [first] = error.validation;
  if (!first) return new ApiError(400, -1102, error.message);
  const where = `${error.validationContext ?? "body"}${first.instancePath.replaceAll("/", ".")}`;
  const extra = first.params.additionalProperty;
  const msg =
    typeof extra === "string"
      ? `${where}: unknown property '${extra}'.`
      : `${where} ${first.message ?? "is not valid"}.`;
  return new ApiError(400, -1102, msg);
}

/** Every failure, including fastify's own (body too large, bad media type), as a Binance body. */
export function installErrorHandling(app: FastifyInstance, maxBodyBytes: number): void {
  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, req, reply: FastifyReply) => {
    let api: ApiError;
    if (error instanceof ApiError) api = error;
    else if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") api = errors.tooLarge(maxBodyBytes);
    else if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") api = errors.unsupportedMedia();
    else if ((error as { validation?: unknown }).validation)
      api = validationError(error as ValidationFailure);
    else if (error.code === "FST_ERR_CTP_INVALID_JSON_BODY" || error.code === "FST_ERR_CTP_EMPTY_JSON_BODY") {
      api = new ApiError(400, -1100, `Malformed JSON body: ${error.message}`);
    } else if (error.statusCode && error.statusCode < 500)
      api = new ApiError(error.statusCode, -1000, error.message);
    else {
      req.log.error({ err: error }, "unhandled error");
      api = toApiError(error);
    }
    gatewayMetrics().rejections.inc({ code: api.code });
    void reply
      .status(api.httpStatus)
      .headers(api.headers)
      .send({ code: api.code, msg: api.message, ...api.extra });
  });
  app.setNotFoundHandler((_req, reply) => {
    void reply.status(404).send({ code: -1000, msg: "Not found." });
  });
}
