import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseStreamRequest } from "../src/stream-requests.ts";

describe("live subscription requests", () => {
  it("reads Binance's five methods", () => {
    expect(
      parseStreamRequest('{"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@depth"],"id":1}'),
    ).toEqual({
      method: "SUBSCRIBE",
      streams: ["btcusdt@trade", "btcusdt@depth"],
      id: 1,
    });
    expect(
      parseStreamRequest('{"method":"UNSUBSCRIBE","params":["btcusdt@trade"],"id":"a-1"}'),
    ).toMatchObject({
      method: "UNSUBSCRIBE",
      id: "a-1",
    });
    expect(parseStreamRequest('{"method":"LIST_SUBSCRIPTIONS","id":3}')).toEqual({
      method: "LIST_SUBSCRIPTIONS",
      id: 3,
    });
    expect(parseStreamRequest('{"method":"SET_PROPERTY","params":["combined",true],"id":5}')).toEqual({
      method: "SET_PROPERTY",
      combined: true,
      id: 5,
    });
    expect(parseStreamRequest('{"method":"GET_PROPERTY","params":["combined"],"id":null}')).toEqual({
      method: "GET_PROPERTY",
      id: null,
    });
  });

  it("answers every malformed request with Binance's code and the request's id where it has one", () => {
    const code = (text: string) => (parseStreamRequest(text) as { code?: number }).code;
    expect(code("{nope")).toBe(3);
    expect(code("[1]")).toBe(2);
    expect(code('{"method":"SUBSCRIBE","params":[],"id":1}')).toBe(2);
    expect(code('{"method":"SUBSCRIBE","params":[7],"id":1}')).toBe(2);
    expect(code('{"method":"SUBSCRIBE","params":["x"],"id":-1}')).toBe(2);
    expect(code('{"method":"SUBSCRIBE","params":["x"],"id":1.5}')).toBe(2);
    expect(code('{"method":"PUBLISH","params":["x"],"id":1}')).toBe(2);
    expect(code('{"params":["x"],"id":1}')).toBe(2);
    expect(code('{"method":"LIST_SUBSCRIPTIONS","params":["x"],"id":1}')).toBe(2);
    expect(code('{"method":"SET_PROPERTY","params":["speed",true],"id":1}')).toBe(0);
    expect(code('{"method":"SET_PROPERTY","params":["combined","yes"],"id":1}')).toBe(1);
    expect(code('{"method":"GET_PROPERTY","params":[3],"id":1}')).toBe(2);
    expect(code('{"method":"SUBSCRIBE","params":["x"],"id":1,"extra":true}')).toBe(2);
    expect(parseStreamRequest('{"method":"PUBLISH","id":9}')).toMatchObject({ id: 9 });
  });

  it("never throws, whatever arrives (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        const r = parseStreamRequest(text);
        expect("method" in r || "code" in r).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
