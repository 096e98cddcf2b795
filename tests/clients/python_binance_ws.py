"""python-binance's WebSocket API calls (ws_*) and its user socket, unchanged but for their URLs,
against a Bourse trading API.

Usage: python python_binance_ws.py BASE_URL OTHER_URL SELLER_KEY SELLER_SECRET BUYER_KEY BUYER_SECRET
BASE_URL is the seller's gateway, OTHER_URL the buyer's (the same URL, or two gateways of one
exchange as a load balancer would alternate them).
A secret that is a PEM private key is an Ed25519 key (python-binance signs with it then).
Prints one JSON line per call, as python_binance.py does: the same trade (the seller rests a sell,
the buyer takes half, the seller cancels the rest), every request over /ws-api/v3, while the
seller's user socket (userDataStream.subscribe.signature) reports it.
"""
import asyncio
import json
import sys

from binance import AsyncClient, BinanceSocketManager
from binance.exceptions import BinanceAPIException
from binance.ws.websocket_api import WebsocketAPI

base_url, other_url, seller_key, seller_secret, buyer_key, buyer_secret = sys.argv[1:7]


def client(key, secret, url):
    pem = secret.startswith("-----BEGIN")
    c = AsyncClient(key, None if pem else secret, private_key=secret if pem else None)
    c.API_URL = f"{url}/api"
    c.MARGIN_API_URL = f"{url}/sapi"
    c.ws_api = WebsocketAPI(url=url.replace("http", "ws", 1) + "/ws-api/v3")
    return c


async def call(name, fn, *args, **kwargs):
    try:
        result = await fn(*args, **kwargs)
        print(json.dumps({"call": name, "ok": True, "result": result}), flush=True)
        return result
    except BinanceAPIException as e:
        print(json.dumps({"call": name, "ok": False, "status": e.status_code, "code": e.code, "msg": e.message}), flush=True)
        return None


async def events(socket, count):
    """The next `count` user data events, as the socket hands them over."""
    return [await asyncio.wait_for(socket.recv(), timeout=10) for _ in range(count)]


async def main():
    seller, buyer = client(seller_key, seller_secret, base_url), client(buyer_key, buyer_secret, other_url)
    await call("ws_ping", seller.ws_ping)
    await call("ws_get_time", seller.ws_get_time)
    await call("ws_get_exchange_info", seller.ws_get_exchange_info, symbol="BTCUSDT")
    await call("ws_get_order_book", seller.ws_get_order_book, symbol="BTCUSDT", limit=5)
    await call("ws_get_account", seller.ws_get_account)
    await call("ws_get_account_rate_limits_orders", seller.ws_get_account_rate_limits_orders)
    await call("ws_get_commission_rates", seller.ws_get_commission_rates, symbol="BTCUSDT")
    await call(
        "ws_create_test_order", seller.ws_create_test_order,
        symbol="BTCUSDT", side="SELL", type="LIMIT", timeInForce="GTC", quantity="0.02", price="60000",
    )
    user_socket = BinanceSocketManager(seller).user_socket()
    async with user_socket:
        sell = await call(
            "ws_order_limit_sell", seller.ws_order_limit_sell,
            symbol="BTCUSDT", quantity="0.02", price="60000", newClientOrderId="pb-ws-sell-1",
        )
        order_id = sell["orderId"] if sell else 0
        await call("ws_get_order", seller.ws_get_order, symbol="BTCUSDT", orderId=order_id)
        await call("ws_get_open_orders", seller.ws_get_open_orders, symbol="BTCUSDT")
        await call(
            "ws_order_limit_buy (IOC, takes half)", buyer.ws_order_limit_buy,
            symbol="BTCUSDT", quantity="0.01", price="60000", timeInForce="IOC",
        )
        # NEW and the account after it, then the fill and the account after that.
        reported = await events(user_socket, 4)
        print(json.dumps({"call": "user_socket", "ok": True, "result": reported}), flush=True)
    await call("ws_get_recent_trades", seller.ws_get_recent_trades, symbol="BTCUSDT", limit=5)
    await call("ws_get_aggregate_trades", seller.ws_get_aggregate_trades, symbol="BTCUSDT")
    await call("ws_get_klines", seller.ws_get_klines, symbol="BTCUSDT", interval="1m", limit=10)
    await call("ws_get_uiKlines", seller.ws_get_uiKlines, symbol="BTCUSDT", interval="1m", limit=10)
    await call("ws_get_avg_price", seller.ws_get_avg_price, symbol="BTCUSDT")
    await call("ws_get_ticker", seller.ws_get_ticker, symbol="BTCUSDT")
    await call("ws_get_trading_day_ticker", seller.ws_get_trading_day_ticker, symbol="BTCUSDT")
    await call("ws_get_symbol_ticker_window", seller.ws_get_symbol_ticker_window, symbol="BTCUSDT", windowSize="1h")
    await call("ws_get_symbol_ticker", seller.ws_get_symbol_ticker, symbol="BTCUSDT")
    await call("ws_get_orderbook_ticker", seller.ws_get_orderbook_ticker, symbol="BTCUSDT")
    await call("ws_get_my_trades (seller)", seller.ws_get_my_trades, symbol="BTCUSDT")
    await call("ws_cancel_order", seller.ws_cancel_order, symbol="BTCUSDT", orderId=order_id)
    again = await call(
        "ws_order_limit_sell (rests again)", seller.ws_order_limit_sell,
        symbol="BTCUSDT", quantity="0.01", price="61000",
    )
    await call(
        "ws_cancel_and_replace_order", seller.ws_cancel_and_replace_order,
        symbol="BTCUSDT", cancelReplaceMode="STOP_ON_FAILURE", cancelOrderId=again["orderId"] if again else 0,
        side="SELL", type="LIMIT", timeInForce="GTC", quantity="0.01", price="61500",
    )
    # An OTO and an OTOCO: the working SELLs rest above the market, the pending BUYs wait for them;
    # cancelling the open orders cancels them all.
    await call(
        "ws_create_oto_order", seller.ws_create_oto_order,
        symbol="BTCUSDT", workingType="LIMIT", workingSide="SELL", workingPrice="65000", workingQuantity="0.01",
        workingTimeInForce="GTC", pendingType="LIMIT_MAKER", pendingSide="BUY", pendingPrice="50000",
        pendingQuantity="0.01",
    )
    await call(
        "ws_create_otoco_order", seller.ws_create_otoco_order,
        symbol="BTCUSDT", workingType="LIMIT", workingSide="SELL", workingPrice="65000", workingQuantity="0.01",
        workingTimeInForce="GTC", pendingSide="BUY", pendingQuantity="0.01", pendingAboveType="STOP_LOSS_LIMIT",
        pendingAbovePrice="61100", pendingAboveStopPrice="61000", pendingAboveTimeInForce="GTC",
        pendingBelowType="LIMIT_MAKER", pendingBelowPrice="55000",
    )
    await call("ws_cancel_all_open_orders", seller.ws_cancel_all_open_orders, symbol="BTCUSDT")
    await call("ws_get_all_orders", seller.ws_get_all_orders, symbol="BTCUSDT")
    await call("ws_get_account (seller, after)", seller.ws_get_account)
    await call("ws_get_account (buyer, after)", buyer.ws_get_account)
    # Each waits out its read loop's timeout (10 s): both at once.
    await asyncio.gather(seller.close_connection(), buyer.close_connection())


asyncio.run(main())
