"""Starts the AWS emulator (moto, pinned in requirements-emulator.txt) on loopback.

Same as `moto_server`, with two differences. Requests are served one at a time: moto is
not written for concurrent requests (its transaction rollback, for one, restored a whole
table and so erased writes other requests committed meanwhile; DynamoDB never loses a
committed write, so neither may our emulator). And a cancelled TransactWriteItems is rolled
back by restoring the items it touched rather than a copy of the whole table (see below).
"""

import argparse
import copy
import os

from moto.core.common_models import BaseModel
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


class _TablesAsTheyAre:
    """`copy` as moto's DynamoDB module sees it: tables are not deep-copied.

    moto snapshots the whole table before each item of a TransactWriteItems (to roll back
    a cancelled one), which makes a transaction cost time and memory in proportion to the
    table: 40-200 ms each and gigabytes of garbage under load. `transact_write_items` below
    snapshots just the items the transaction touches instead.
    """

    @staticmethod
    def deepcopy(obj, memo=None):
        return obj if isinstance(obj, Table) else copy.deepcopy(obj, memo)


_moto_transact_write_items = DynamoDBBackend.transact_write_items


def _snapshot(backend, entry):
    """(table, hash key, range key, copy of the item or None) for one transaction entry."""
    _, op = next(iter(entry.items()))
    table = backend.get_table(op["TableName"])
    key = op.get("Key")
    if key is None:
        key = {a: op["Item"][a] for a in (table.hash_key_attr, table.range_key_attr) if a}
    hash_key, range_key = backend.get_keys_value(table, key)
    return table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))


def _restore(table, hash_key, range_key, item):
    if range_key is not None:
        if item is None:
            table.items[hash_key].pop(range_key, None)
        else:
            table.items[hash_key][range_key] = item
    elif item is None:
        table.items.pop(hash_key, None)
    else:
        table.items[hash_key] = item


def transact_write_items(self, transact_items):
    snapshots = []
    for entry in transact_items:
        try:
            snapshots.append(_snapshot(self, entry))
        except Exception:
            # An entry moto cannot even key fails its own validation without writing.
            pass
    try:
        _moto_transact_write_items(self, transact_items)
    except Exception:
        for snapshot in reversed(snapshots):
            _restore(*snapshot)
        raise


dynamodb_models.copy = _TablesAsTheyAre
DynamoDBBackend.transact_write_items = transact_write_items


def _untracked(cls, *args, **kwargs):
    return object.__new__(cls)


# moto keeps every model object it ever made (every item version, every queue message) in
# a class-level list for its dashboard, which we do not use: memory grew without bound
# under load (16 GB in a long bench run).
BaseModel.__new__ = _untracked


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
