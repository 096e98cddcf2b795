"""binance-connector's WebSocket API client (binance.websocket.spot.websocket_api), unchanged but
for its URL, against a Bourse trading API.

Usage: python binance_connector_ws.py BASE_URL OTHER_URL SELLER_KEY SELLER_SECRET BUYER_KEY BUYER_SECRET
BASE_URL is the seller's gateway, OTHER_URL the buyer's and the seller's listen key's keep-alive
and close (the same URL, or two gateways of one exchange as a load balancer would alternate them).
Prints one JSON line per call, as binance_connector.py does: the same trade (the seller rests a
sell, the buyer takes half, the seller cancels the rest), every request over /ws-api/v3.
"""
import json
import sys
import queue

from binance.websocket.spot.websocket_api import SpotWebsocketAPIClient

base_url, other_url, seller_key, seller_secret, buyer_key, buyer_secret = sys.argv[1:7]


def ws_url(url):
    return url.replace("http", "ws", 1) + "/ws-api/v3"


class Client:
    """The connector's client, one request at a time: it hands each answer to a callback."""

    def __init__(self, key, secret, url=base_url):
        self.answers = queue.Queue()
        self.ws = SpotWebsocketAPIClient(
            stream_url=ws_url(url), api_key=key, api_secret=secret,
            on_message=lambda _socket, message: self.answers.put(json.loads(message)),
        )

    def request(self, method, *args, **kwargs):
        getattr(self.ws, method)(*args, **kwargs)
        return self.answers.get(timeout=10)


seller, buyer = Client(seller_key, seller_secret), Client(buyer_key, buyer_secret, other_url)
seller_elsewhere = Client(seller_key, seller_secret, other_url)


def call(name, client, method, *args, **kwargs):
    answer = client.request(method, *args, **kwargs)
    if answer["status"] == 200:
        print(json.dumps({"call": name, "ok": True, "result": answer["result"]}), flush=True)
        return answer["result"]
    error = answer["error"]
    print(json.dumps({"call": name, "ok": False, "status": answer["status"], "code": error["code"], "msg": error["msg"]}), flush=True)
    return None


call("ping_connectivity", seller, "ping_connectivity")
call("server_time", seller, "server_time")
call("exchange_info", seller, "exchange_info", symbol="BTCUSDT")
call("order_book", seller, "order_book", "BTCUSDT", limit=5)
call("klines", seller, "klines", "BTCUSDT", "1m", limit=10)
call("account", seller, "account")
call("order_rate_limit", seller, "order_rate_limit")
call(
    "new_order_test", seller, "new_order_test",
    symbol="BTCUSDT", side="SELL", type="LIMIT", timeInForce="GTC", quantity="0.02", price="60000",
)
sell = call(
    "new_order (seller, LIMIT GTC)", seller, "new_order",
    symbol="BTCUSDT", side="SELL", type="LIMIT", timeInForce="GTC", quantity="0.02", price="60000",
    newClientOrderId="connector-ws-sell-1",
)
order_id = sell["orderId"] if sell else 0
call("get_order (by orderId)", seller, "get_order", "BTCUSDT", orderId=order_id)
call("get_order (by origClientOrderId)", seller, "get_order", "BTCUSDT", origClientOrderId="connector-ws-sell-1")
call("get_open_orders", seller, "get_open_orders", symbol="BTCUSDT")
call(
    "new_order (buyer, LIMIT IOC, takes half)", buyer, "new_order",
    symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="IOC", quantity="0.01", price="60000",
    newOrderRespType="FULL",
)
call("recent_trades", seller, "recent_trades", "BTCUSDT", limit=5)
call("historical_trades", seller, "historical_trades", "BTCUSDT", seller_key, limit=5)
call("aggregate_trades", seller, "aggregate_trades", "BTCUSDT")
call("ui_klines", seller, "ui_klines", "BTCUSDT", "1m", limit=10)
call("avg_price", seller, "avg_price", "BTCUSDT")
call("ticker_24hr", seller, "ticker_24hr", symbol="BTCUSDT")
call("ticker", seller, "ticker", symbol="BTCUSDT", windowSize="1h")
call("ticker_price", seller, "ticker_price", symbol="BTCUSDT")
call("ticker_book", seller, "ticker_book", symbol="BTCUSDT")
call("my_trades (seller)", seller, "my_trades", symbol="BTCUSDT")
call("order_history", seller, "order_history", symbol="BTCUSDT")
call("cancel_order", seller, "cancel_order", "BTCUSDT", origClientOrderId="connector-ws-sell-1")
again = call(
    "new_order (seller, rests again)", seller, "new_order",
    symbol="BTCUSDT", side="SELL", type="LIMIT", timeInForce="GTC", quantity="0.01", price="61000",
)
call(
    "cancel_replace_order", seller, "cancel_replace_order",
    "BTCUSDT", "STOP_ON_FAILURE", "SELL", "LIMIT",
    cancelOrderId=again["orderId"] if again else 0, timeInForce="GTC", quantity="0.01", price="61500",
)
call("cancel_open_orders", seller, "cancel_open_orders", "BTCUSDT")
oco = call(
    "new_oco_order", seller, "new_oco_order",
    "BTCUSDT", "SELL", "0.01", "LIMIT_MAKER", "STOP_LOSS_LIMIT",
    listClientOrderId="connector-ws-oco-1", abovePrice="62000",
    belowStopPrice="58000", belowPrice="57900", belowTimeInForce="GTC",
)
oco_id = oco["orderListId"] if oco else 0
call("get_oco_order", seller, "get_oco_order", orderListId=oco_id)
call("get_open_oco_orders", seller, "get_open_oco_orders")
call("cancel_oco_order", seller, "cancel_oco_order", "BTCUSDT", orderListId=oco_id)
call("oco_history", seller, "oco_history")
# An OTO and an OTOCO: the working SELL rests above the market, the pending BUYs wait for it; each cancelled whole.
oto = call(
    "new_oto_order", seller, "new_oto_order",
    "BTCUSDT", "LIMIT", "SELL", "65000", "0.01", "LIMIT_MAKER", "BUY", "0.01",
    listClientOrderId="connector-ws-oto-1", workingTimeInForce="GTC", pendingPrice="50000",
)
call("cancel_oco_order (the OTO)", seller, "cancel_oco_order", "BTCUSDT", orderListId=oto["orderListId"] if oto else 0)
call(
    "new_otoco_order", seller, "new_otoco_order",
    "BTCUSDT", "LIMIT", "SELL", "65000", "BUY", "0.01", "STOP_LOSS_LIMIT",
    listClientOrderId="connector-ws-otoco-1", workingQuantity="0.01", workingTimeInForce="GTC",
    pendingAbovePrice="61100", pendingAboveStopPrice="61000", pendingAboveTimeInForce="GTC",
    pendingBelowType="LIMIT_MAKER", pendingBelowPrice="55000",
)
call("cancel_oco_order (the OTOCO)", seller, "cancel_oco_order", "BTCUSDT", listClientOrderId="connector-ws-otoco-1")
key = call("user_data_start", seller, "user_data_start")
call("user_data_ping", seller_elsewhere, "user_data_ping", key["listenKey"] if key else "")
call("user_data_stop", seller_elsewhere, "user_data_stop", key["listenKey"] if key else "")
call("account (seller, after)", seller, "account")
call("account (buyer, after)", buyer, "account")
seller.ws.stop()
buyer.ws.stop()
seller_elsewhere.ws.stop()
