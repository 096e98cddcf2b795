"""python-binance, unchanged but for its base URLs, against a Bourse trading API.

Usage: python python_binance.py BASE_URL OTHER_URL SELLER_KEY SELLER_SECRET BUYER_KEY BUYER_SECRET
BASE_URL is the seller's gateway, OTHER_URL the buyer's and the public calls' (the same URL, or
two gateways of one exchange as a load balancer would alternate them). The seller's listen key is
made through BASE_URL and kept alive and closed through OTHER_URL.
Prints one JSON line per call, as binance_connector.py does. No call is made before the URLs
point at Bourse (ping=False at construction: the client would otherwise reach Binance).
"""
import json
import sys

from binance.client import Client
from binance.exceptions import BinanceAPIException

base_url, other_url, seller_key, seller_secret, buyer_key, buyer_secret = sys.argv[1:7]


def client(key=None, secret=None, url=base_url):
    c = Client(key, secret, ping=False)
    c.API_URL = f"{url}/api"
    c.MARGIN_API_URL = f"{url}/sapi"
    return c


public, seller, buyer = client(url=other_url), client(seller_key, seller_secret), client(buyer_key, buyer_secret, other_url)
seller_elsewhere = client(seller_key, seller_secret, other_url)


def call(name, fn, *args, **kwargs):
    try:
        result = fn(*args, **kwargs)
        print(json.dumps({"call": name, "ok": True, "result": result}), flush=True)
        return result
    except BinanceAPIException as e:
        print(json.dumps({"call": name, "ok": False, "status": e.status_code, "code": e.code, "msg": e.message}), flush=True)
        return None


call("ping", public.ping)
call("get_server_time", public.get_server_time)
call("get_exchange_info", public.get_exchange_info)
call("get_symbol_info", public.get_symbol_info, "BTCUSDT")
call("get_order_book", public.get_order_book, symbol="BTCUSDT", limit=5)
call("get_klines", public.get_klines, symbol="BTCUSDT", interval="1m", limit=10)
call("get_ticker", public.get_ticker, symbol="BTCUSDT")
call("get_symbol_ticker", public.get_symbol_ticker, symbol="BTCUSDT")
call("get_orderbook_ticker", public.get_orderbook_ticker, symbol="BTCUSDT")
call("get_account", seller.get_account)
call("get_asset_balance", seller.get_asset_balance, asset="BTC")
call("create_test_order", seller.create_test_order, symbol="BTCUSDT", side="SELL", type="LIMIT", timeInForce="GTC", quantity="0.02", price="60000")
sell = call("order_limit_sell", seller.order_limit_sell, symbol="BTCUSDT", quantity="0.02", price="60000", newClientOrderId="pb-sell-1")
order_id = sell["orderId"] if sell else 0
call("get_order", seller.get_order, symbol="BTCUSDT", orderId=order_id)
call("get_open_orders", seller.get_open_orders, symbol="BTCUSDT")
call("order_limit_buy (IOC, takes half)", buyer.order_limit_buy, symbol="BTCUSDT", quantity="0.01", price="60000", timeInForce="IOC")
call("get_recent_trades", public.get_recent_trades, symbol="BTCUSDT", limit=5)
call("get_my_trades (seller)", seller.get_my_trades, symbol="BTCUSDT")
call("cancel_order", seller.cancel_order, symbol="BTCUSDT", orderId=order_id)
call("get_all_orders", seller.get_all_orders, symbol="BTCUSDT")
oco = call(
    "create_oco_order",
    seller.create_oco_order,
    symbol="BTCUSDT", side="SELL", quantity="0.01",
    aboveType="LIMIT_MAKER", abovePrice="62000", belowType="STOP_LOSS", belowStopPrice="58000",
)
oco_id = oco["orderListId"] if oco else 0
call("get_open_oco_orders", seller.get_open_oco_orders)
call("v3_get_order_list", seller.v3_get_order_list, orderListId=oco_id)
call("v3_delete_order_list", seller.v3_delete_order_list, symbol="BTCUSDT", orderListId=oco_id)
call("v3_get_all_order_list", seller.v3_get_all_order_list)
# An OTO: the working SELL rests above the market, the pending BUY waits for it; cancelled whole.
oto = call(
    "v3_post_order_list_oto",
    seller.v3_post_order_list_oto,
    symbol="BTCUSDT", workingType="LIMIT", workingSide="SELL", workingPrice="65000", workingQuantity="0.01",
    workingTimeInForce="GTC", pendingType="LIMIT_MAKER", pendingSide="BUY", pendingPrice="50000",
    pendingQuantity="0.01",
)
call(
    "v3_delete_order_list (the OTO)",
    seller.v3_delete_order_list, symbol="BTCUSDT", orderListId=oto["orderListId"] if oto else 0,
)
key = call("stream_get_listen_key", seller.stream_get_listen_key)
call("stream_keepalive", seller_elsewhere.stream_keepalive, key or "")
call("stream_close", seller_elsewhere.stream_close, key or "")
call("funding_wallet", seller.funding_wallet)
call("make_universal_transfer (MAIN_FUNDING)", seller.make_universal_transfer, type="MAIN_FUNDING", asset="USDT", amount="25.5")
call("make_universal_transfer (FUNDING_MAIN)", seller.make_universal_transfer, type="FUNDING_MAIN", asset="USDT", amount="25.5")
call("query_universal_transfer_history", seller.query_universal_transfer_history, type="MAIN_FUNDING")
call("get_account (seller, after)", seller.get_account)
call("get_account (buyer, after)", buyer.get_account)
