"""pymodbus (Debian python3-pymodbus 3.0.0rc1) client doing a fixed sequence: FC3, FC16, FC23 and FC43/14.
Each request is built as a pymodbus request object and sent with client.execute(); the log line is read back from
that object after sending (unit id, function code, transaction id, encoded PDU), so it states what went on the wire,
plus the function/exception code of the reply.
Run with /usr/bin/python3 (Debian's pymodbus is not importable from other interpreters).

Usage: /usr/bin/python3 tests/peers/client-pymodbus.py PORT LOGFILE
"""
import json
import sys

from pymodbus.client import ModbusTcpClient
from pymodbus.mei_message import ReadDeviceInformationRequest
from pymodbus.register_read_message import ReadHoldingRegistersRequest, ReadWriteMultipleRegistersRequest
from pymodbus.register_write_message import WriteMultipleRegistersRequest

port = int(sys.argv[1])
log_file = sys.argv[2]

# retries=0: a retry would put a request on the wire that this log would not show.
client = ModbusTcpClient("127.0.0.1", port=port, retries=0, timeout=2)
if not client.connect():
    sys.exit("cannot connect")

# In pymodbus 3.0.0rc1 request objects take the unit id as `unit=`. Addresses >= 1000 are illegal on the server.
SEQUENCE = [
    ReadHoldingRegistersRequest(0, 6, unit=9),
    WriteMultipleRegistersRequest(50, [500, 501, 502], unit=9),
    ReadHoldingRegistersRequest(50, 3, unit=9),
    ReadWriteMultipleRegistersRequest(read_address=60, read_count=2, write_address=60, write_registers=[6, 7], unit=9),
    ReadDeviceInformationRequest(read_code=1, object_id=0, unit=9),
    ReadHoldingRegistersRequest(995, 10, unit=33),
    WriteMultipleRegistersRequest(1000, [1], unit=33),
    ReadHoldingRegistersRequest(200, 1, unit=33),
]

with open(log_file, "w", encoding="utf-8") as log:
    for req in SEQUENCE:
        entry = {"client": "pymodbus", "request": type(req).__name__}
        try:
            rsp = client.execute(req)
            if rsp is not None and hasattr(rsp, "function_code"):
                entry["response_fc"] = rsp.function_code
                entry["exception_code"] = rsp.exception_code if rsp.isError() and hasattr(rsp, "exception_code") else None
            else:
                entry["response_fc"] = None
                entry["exception_code"] = None
                entry["error"] = str(rsp)
        except Exception as err:  # noqa: BLE001 - logged; the request still counts
            entry["response_fc"] = None
            entry["exception_code"] = None
            entry["error"] = str(err)
        entry.update(
            unit=req.unit_id,
            fc=req.function_code,
            transaction_id=req.transaction_id,
            pdu_hex=bytes([req.function_code]).hex() + req.encode().hex(),
        )
        log.write(json.dumps(entry) + "\n")

client.close()
