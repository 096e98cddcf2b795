"""What binance_connector.py and binance_connector_streams.py share: a REST client on a URL, and
one JSON line per call (the line format the test reads)."""
import json

from binance.error import ClientError
from binance.spot import Spot


def spot(key, secret, url):
    """A secret that is a PEM private key is an Ed25519 key: the connector signs with it then."""
    if secret.startswith("-----BEGIN"):
        return Spot(api_key=key, private_key=secret, base_url=url)
    return Spot(api_key=key, api_secret=secret, base_url=url)


def call(name, fn, *args, **kwargs):
    """Prints {"call", "ok", "result"} or {"call", "ok": false, "status", "code", "msg"}."""
    try:
        result = fn(*args, **kwargs)
        print(json.dumps({"call": name, "ok": True, "result": result}), flush=True)
        return result
    except ClientError as e:
        print(
            json.dumps({"call": name, "ok": False, "status": e.status_code, "code": e.error_code, "msg": e.error_message}),
            flush=True,
        )
        return None
