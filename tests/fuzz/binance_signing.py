"""Schemathesis hooks for Bourse's trading API: sign every SIGNED endpoint the way Binance does.

The fuzzer generates the parameters; this adds the API key header, a fresh `timestamp` and the
HMAC-SHA256 `signature` over exactly the bytes sent (query string, then form body), so generated
requests get past authentication and exercise the validation and order logic behind it.
"""

import hashlib
import hmac
import os
import random
import time
from urllib.parse import urlencode

import schemathesis

API_KEY = os.environ["BOURSE_FUZZ_API_KEY"]
SECRET = os.environ["BOURSE_FUZZ_SECRET"].encode()
SIGNED = ("/api/v3/order", "/api/v3/openOrders", "/api/v3/allOrders", "/api/v3/account", "/api/v3/myTrades", "/sapi/")


def _plain(params):
    """The parameters as the HTTP client will send them: None dropped, values as strings."""
    if not isinstance(params, dict):
        return {}
    return {str(k): str(v) for k, v in params.items() if v is not None and not isinstance(v, (list, dict))}


# A third of the order placements are rewritten into valid limit orders (seeded), so the fuzz
# also drives the path that changes state: freezing funds, resting and matching orders.
_orders = random.Random(int(os.environ.get("BOURSE_FUZZ_SEED", "1")))


def _valid_order(body):
    side = _orders.choice(["BUY", "SELL"])
    ticks = 6_000_000 + _orders.randint(-500, 500)
    body.update(
        symbol="BTCUSDT",
        side=side,
        type="LIMIT",
        timeInForce=_orders.choice(["GTC", "IOC", "FOK"]),
        quantity="0.%05d" % _orders.randint(10, 500),
        price="%d.%02d" % divmod(ticks, 100),
    )
    for extra in ("quoteOrderQty", "recvWindow", "newClientOrderId"):
        body.pop(extra, None)
    return body


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if not case.operation.path.startswith(SIGNED):
        return
    if case.operation.path == "/api/v3/order" and case.operation.method.upper() == "POST":
        if isinstance(case.body, dict) and _orders.random() < 0.33:
            case.body = _valid_order(dict(case.body))
    case.headers = {**(case.headers or {}), "X-MBX-APIKEY": API_KEY}
    query = _plain(case.query)
    query.pop("signature", None)
    query["timestamp"] = str(int(time.time() * 1000))
    if case.operation.method.upper() == "POST" and isinstance(case.body, dict):
        body = _plain(case.body)
        body.pop("signature", None)
        body.pop("timestamp", None)
        payload = urlencode(query) + urlencode(body)
        body["signature"] = hmac.new(SECRET, payload.encode(), hashlib.sha256).hexdigest()
        case.query, case.body = query, body
    else:
        query["signature"] = hmac.new(SECRET, urlencode(query).encode(), hashlib.sha256).hexdigest()
        case.query = query
