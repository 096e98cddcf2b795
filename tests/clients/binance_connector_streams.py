"""binance-connector's WebSocket stream client (binance.websocket.spot.websocket_stream), unchanged
but for its URL, against a Bourse trading API: the seller's user data stream and the market streams
over one connection, while the connector's REST client trades.

Usage: python binance_connector_streams.py BASE_URL OTHER_URL SELLER_KEY SELLER_SECRET BUYER_KEY BUYER_SECRET
BASE_URL is the seller's gateway (its orders and its listen key), OTHER_URL the buyer's and the
stream connection's (the same URL, or two gateways of one exchange as a load balancer would
alternate them): the listen key made on one is used on the other.
Prints one JSON line per call, as binance_connector.py does, then one line per stream with the
events it delivered over the trade (the seller rests a sell, the buyer takes half, the seller
cancels the rest).
"""
import json
import queue
import sys
import time

from binance.websocket.spot.websocket_stream import SpotWebsocketStreamClient
from connector_calls import call, spot

base_url, other_url, seller_key, seller_secret, buyer_key, buyer_secret = sys.argv[1:7]

seller, buyer = spot(seller_key, seller_secret, base_url), spot(buyer_key, buyer_secret, other_url)
seller_elsewhere = spot(seller_key, seller_secret, other_url)


def kind(event):
    """The stream an event came from (a raw stream's events name it by their fields; an array of
    every market's tickers by its tickers' kind and @arr)."""
    if isinstance(event, list):
        return f"{kind(event[0])}@arr" if event else "unknown"
    if "e" in event:
        return event["e"]
    if "lastUpdateId" in event:
        return "partialBookDepth"
    return "bookTicker" if "b" in event and "a" in event else "unknown"


# Each stream (the connector's method, its arguments) by the event kind it delivers; without a
# symbol, mini_ticker and ticker are every market's arrays (!miniTicker@arr, !ticker@arr).
STREAMS = {
    "trade": ("trade", {"symbol": "BTCUSDT"}),
    "aggTrade": ("agg_trade", {"symbol": "BTCUSDT"}),
    "kline": ("kline", {"symbol": "BTCUSDT", "interval": "1m"}),
    "24hrMiniTicker": ("mini_ticker", {"symbol": "BTCUSDT"}),
    "24hrTicker": ("ticker", {"symbol": "BTCUSDT"}),
    "bookTicker": ("book_ticker", {"symbol": "BTCUSDT"}),
    "depthUpdate": ("diff_book_depth", {"symbol": "BTCUSDT", "speed": 100}),
    "partialBookDepth": ("partial_book_depth", {"symbol": "BTCUSDT", "level": 5, "speed": 100}),
    "1hTicker": ("rolling_window_ticker", {"symbol": "BTCUSDT", "windowSize": "1h"}),
    "4hTicker@arr": ("rolling_window_ticker_all_symbols", {"windowSize": "4h"}),
    "24hrMiniTicker@arr": ("mini_ticker", {}),
    "24hrTicker@arr": ("ticker", {}),
}

messages = queue.Queue()
stream = SpotWebsocketStreamClient(
    stream_url=other_url.replace("http", "ws", 1),
    on_message=lambda _socket, message: messages.put(json.loads(message)),
)
key = call("new_listen_key (seller, first gateway)", seller.new_listen_key)
listen_key = key["listenKey"] if key else ""
# One message per subscription, at most 4 a second: Binance disconnects beyond 5 a second.
stream.user_data(listen_key, id=1)
for i, (method, kwargs) in enumerate(STREAMS.values()):
    time.sleep(0.25)
    getattr(stream, method)(id=i + 2, **kwargs)
time.sleep(0.25)
stream.list_subscribe(id=100)

events = {}
answers = {}


def take(until):
    """Sorts what arrives into answers (by id) and events (by kind) until `until()` or 10 s."""
    deadline = time.monotonic() + 10
    while not until() and time.monotonic() < deadline:
        try:
            message = messages.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if "id" in message:
            answers[message["id"]] = message
        else:
            events.setdefault(kind(message), []).append(message)


take(lambda: 100 in answers)
refused = [a for a in answers.values() if "code" in a]
subscribed = len(answers) == len(STREAMS) + 2 and not refused
print(json.dumps({"call": "subscribe (user data and market streams)", "ok": subscribed, "result": refused}), flush=True)
listed = answers.get(100, {}).get("result")
print(json.dumps({"call": "list_subscribe", "ok": listed is not None, "result": listed}), flush=True)

sell = call(
    "new_order (seller, LIMIT GTC)",
    seller.new_order,
    symbol="BTCUSDT", side="SELL", type="LIMIT", timeInForce="GTC", quantity="0.02", price="60000",
    newClientOrderId="connector-stream-sell-1",
)
call(
    "new_order (buyer, LIMIT IOC, takes half)",
    buyer.new_order,
    symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="IOC", quantity="0.01", price="60000",
    newOrderRespType="FULL",
)
call("cancel_order", seller.cancel_order, "BTCUSDT", orderId=sell["orderId"] if sell else 0)


def canceled():
    return any(e.get("X") == "CANCELED" for e in events.get("executionReport", []))


take(lambda: canceled() and all(k in events for k in STREAMS))
for name in ["executionReport", *STREAMS]:
    got = events.get(name, [])
    print(json.dumps({"call": f"stream {name}", "ok": len(got) > 0, "result": got}), flush=True)
stream.stop()

call("close_listen_key (seller, other gateway)", seller_elsewhere.close_listen_key, listen_key)
call("account (seller, after)", seller.account)
call("account (buyer, after)", buyer.account)
