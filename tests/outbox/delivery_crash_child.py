"""The process the delivery crash test kills: sends every pending e-mail of the store until none is left.

Run as ``python delivery_crash_child.py '<json settings>'``. Prints ``READY`` when it starts working and exits
0 when no delivery is pending or in ``sending`` any more. It can be SIGKILLed at any point and started again:
the deliveries resume from the store.
"""

from __future__ import annotations

import json
import sys
import time

from cr_einvoice.delivery.smtp import SmtpSender, SmtpSettings
from cr_einvoice.outbox.delivering import Deliverer, DeliverySettings
from cr_einvoice.outbox.store import DeliveryState, open_store


def main(cfg: dict[str, object]) -> None:
    store = open_store(str(cfg["db"]))
    keys = [str(k) for k in cfg["keys"]]  # type: ignore[attr-defined]
    smtp = SmtpSettings("127.0.0.1", int(str(cfg["port"])), security="none", timeout=5.0)
    settings = DeliverySettings(sender="facturas@example.com", stale_after=0.3, lease=5.0, batch=7)
    deliverer = Deliverer(store, lambda: SmtpSender(smtp), settings)
    print("READY", flush=True)
    while True:
        deliverer.run()
        counts = store.delivery_counts(keys)
        open_ = sum(
            c.get(DeliveryState.PENDING, 0) + c.get(DeliveryState.SENDING, 0) for c in counts.values()
        )
        if not open_:
            break
        time.sleep(0.05)
    store.close()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
