"""Binance's official Python connector (binance-connector), unchanged, against a Bourse trading API.

Usage: python binance_connector.py BASE_URL OTHER_URL SELLER_KEY SELLER_SECRET BUYER_KEY BUYER_SECRET
(a secret that is a PEM private key is an Ed25519 key). BASE_URL is the seller's gateway, OTHER_URL
the buyer's and the public calls' (the same URL, or two gateways of one exchange as a load balancer
would alternate them). The seller's listen key is made through BASE_URL and kept alive and closed
through OTHER_URL.
Runs every spot call the connector offers that Bourse serves, as a bot would, and prints one JSON
line per call: {"call", "ok", "result"} or {"call", "ok": false, "status", "code", "msg"}. The
seller rests a sell, the buyer takes it, both cancel what is left. The test asserts each line.
"""
import sys

from binance.spot import Spot
from connector_calls import call, spot

base_url, other_url, seller_key, seller_secret, buyer_key, buyer_secret = sys.argv[1:7]

public = Spot(base_url=other_url)
seller, buyer = spot(seller_key, seller_secret, base_url), spot(buyer_key, buyer_secret, other_url)
seller_elsewhere = spot(seller_key, seller_secret, other_url)


call("ping", public.ping)
call("time", public.time)
call("exchange_info", public.exchange_info, symbol="BTCUSDT")
call("depth", public.depth, "BTCUSDT", limit=5)
call("klines", public.klines, "BTCUSDT", "1m", limit=10)
call("ticker_24hr", public.ticker_24hr, "BTCUSDT")
call("ticker_price", public.ticker_price, "BTCUSDT")
call("book_ticker", public.book_ticker, "BTCUSDT")
call("account", seller.account)

call(
    "new_order_test",
    seller.new_order_test,
    symbol="BTCUSDT", side="SELL", type="LIMIT", timeInForce="GTC", quantity="0.02", price="60000",
    computeCommissionRates="true",
)
sell = call(
    "new_order (seller, LIMIT GTC)",
    seller.new_order,
    symbol="BTCUSDT", side="SELL", type="LIMIT", timeInForce="GTC", quantity="0.02", price="60000",
    newClientOrderId="connector-sell-1",
)
call("get_order (by orderId)", seller.get_order, "BTCUSDT", orderId=sell["orderId"] if sell else 0)
call("get_order (by origClientOrderId)", seller.get_order, "BTCUSDT", origClientOrderId="connector-sell-1")
call("get_open_orders", seller.get_open_orders, "BTCUSDT")
call(
    "new_order (buyer, LIMIT IOC, takes half)",
    buyer.new_order,
    symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="IOC", quantity="0.01", price="60000",
    newOrderRespType="FULL",
)
call("trades", public.trades, "BTCUSDT", limit=5)
call("agg_trades", public.agg_trades, "BTCUSDT")
call("ui_klines", public.ui_klines, "BTCUSDT", "1m", limit=10)
call("avg_price", public.avg_price, "BTCUSDT")
call("ticker_24hr (symbols)", public.ticker_24hr, symbols=["BTCUSDT", "ETHUSDT"])
call("rolling_window_ticker", public.rolling_window_ticker, "BTCUSDT", windowSize="1h")
call("rolling_window_ticker (symbols, MINI)", public.rolling_window_ticker, symbols=["BTCUSDT", "ETHUSDT"], type="MINI")
call("trading_day_ticker", public.trading_day_ticker, symbol="BTCUSDT")
call("system_status", public.system_status)
call("historical_trades", public.historical_trades, "BTCUSDT", limit=5)
call("ticker_24hr (MINI)", public.ticker_24hr, "BTCUSDT", type="MINI")
call("get_order_rate_limit", seller.get_order_rate_limit)
call("user_asset", seller.user_asset, asset="BTC")
call("trade_fee", seller.trade_fee, symbol="BTCUSDT")
call("query_commission_rates", seller.query_commission_rates, "BTCUSDT")
call("my_trades (seller)", seller.my_trades, "BTCUSDT")
call("my_trades (buyer)", buyer.my_trades, "BTCUSDT")
call("cancel_order", seller.cancel_order, "BTCUSDT", orderId=sell["orderId"] if sell else 0)
call(
    "new_order (seller, rests again)",
    seller.new_order,
    symbol="BTCUSDT", side="SELL", type="LIMIT", timeInForce="GTC", quantity="0.01", price="61000",
)
call("cancel_open_orders", seller.cancel_open_orders, "BTCUSDT")
oco = call(
    "new_oco_order (seller)",
    seller.new_oco_order,
    "BTCUSDT", "SELL", "0.01", "LIMIT_MAKER", "STOP_LOSS_LIMIT",
    listClientOrderId="connector-oco-1", abovePrice="62000",
    belowStopPrice="58000", belowPrice="57900", belowTimeInForce="GTC",
)
oco_id = oco["orderListId"] if oco else 0
call("get_oco_order", seller.get_oco_order, orderListId=oco_id)
call("get_oco_open_orders", seller.get_oco_open_orders)
call("cancel_oco_order", seller.cancel_oco_order, "BTCUSDT", orderListId=oco_id)
call("get_oco_orders", seller.get_oco_orders)
# An OTO and an OTOCO: the working SELL rests above the market, the pending BUYs wait for it; each cancelled whole.
oto = call(
    "new_oto_order",
    seller.new_oto_order,
    "BTCUSDT", "LIMIT", "SELL", "65000", "0.01", "LIMIT_MAKER", "BUY", "0.01",
    listClientOrderId="connector-oto-1", workingTimeInForce="GTC", pendingPrice="50000",
)
call("cancel_oco_order (the OTO)", seller.cancel_oco_order, "BTCUSDT", orderListId=oto["orderListId"] if oto else 0)
otoco = call(
    "new_otoco_order",
    seller.new_otoco_order,
    "BTCUSDT", "LIMIT", "SELL", "65000", "0.01", "BUY", "0.01", "STOP_LOSS_LIMIT",
    listClientOrderId="connector-otoco-1", workingTimeInForce="GTC", pendingAbovePrice="61100",
    pendingAboveStopPrice="61000", pendingAboveTimeInForce="GTC", pendingBelowType="LIMIT_MAKER",
    pendingBelowPrice="55000",
)
call(
    "cancel_oco_order (the OTOCO)",
    seller.cancel_oco_order, "BTCUSDT", listClientOrderId="connector-otoco-1",
)
# Self-trade prevention: the seller's bid meets its own ask; EXPIRE_TAKER expires the bid, nothing trades.
own = call(
    "new_order (seller, an ask to meet)",
    seller.new_order,
    symbol="BTCUSDT", side="SELL", type="LIMIT", timeInForce="GTC", quantity="0.001", price="63000",
)
met = call(
    "new_order (seller, meets itself, EXPIRE_TAKER)",
    seller.new_order,
    symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.001", price="63000",
    selfTradePreventionMode="EXPIRE_TAKER",
)
call("query_prevented_matches", seller.query_prevented_matches, "BTCUSDT", orderId=met["orderId"] if met else 0)
call("cancel_order (the ask it met)", seller.cancel_order, "BTCUSDT", orderId=own["orderId"] if own else 0)
call("exchange_info (permissions)", public.exchange_info, permissions=["SPOT"])
call("get_orders", seller.get_orders, "BTCUSDT")
key = call("new_listen_key", seller.new_listen_key)
call("renew_listen_key", seller_elsewhere.renew_listen_key, key["listenKey"] if key else "")
call("close_listen_key", seller_elsewhere.close_listen_key, key["listenKey"] if key else "")
call("funding_wallet", seller.funding_wallet)
call("user_universal_transfer (MAIN_FUNDING)", seller.user_universal_transfer, type="MAIN_FUNDING", asset="USDT", amount="25.5")
call("user_universal_transfer (FUNDING_MAIN)", seller.user_universal_transfer, type="FUNDING_MAIN", asset="USDT", amount="25.5")
call("user_universal_transfer_history", seller.user_universal_transfer_history, type="MAIN_FUNDING")
call("account (seller, after)", seller.account)
call("account (buyer, after)", buyer.account)
