"""Starts the AWS emulator (moto, pinned in requirements-emulator.txt) on loopback.

Same as `moto_server`, with these differences (each explained where it is made below):
- Requests are served one at a time: moto is not written for concurrent requests (its
  transaction rollback, for one, restored a whole table and so erased writes other requests
  committed meanwhile; DynamoDB never loses a committed write, so neither may our emulator).
- A cancelled TransactWriteItems is rolled back by restoring the items it touched rather
  than a copy of the whole table.
- A Query reads only a page of its partition, kept in order as items are written, rather than
  sorting and sizing all of the table.
- Update expressions are parsed once, and checked without moto's quadratic walks; item sizes
  are summed without re-wrapping every value; a projected item is converted once, not once
  per path; SQS queue attributes are worked out when read.
- DynamoDB's data-plane answers are dumped as JSON directly, and moto no longer repeats
  constant work (listing its services, its handlers' methods) for every request, nor keeps
  every model object it ever made.
One addition: `GET /_local/ses/sent` lists the e-mails SES v2 accepted, with the headers
moto does not keep (AWS has no such call), so tests can read a link that only its e-mail
carries.
What moto stores and answers does not change; only what that costs (`emulator_check.py`
compares its answers with plain moto's).
"""

import argparse
import base64
import bisect
import copy
import functools
import inspect
import itertools
import json
import os
from collections.abc import Mapping

from moto import backends
from moto.core import responses as core_responses
from moto.core.responses import ActionResult
from moto.core.common_models import BaseModel
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import table as table_module
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.utilities import DynamoJsonEncoder, bytesize, dynamo_to_dict, find_nested_key
from moto.dynamodb.models.dynamo_type import serializer
from botocore.utils import merge_dicts
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node, UpdateExpression
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodb.parsing.validators import ActionCountValidator, OverlappingPathsValidator
from moto.dynamodb.responses import DynamoResult
from moto.core.utils import camelcase_to_underscores
from moto.sqs.models import Queue, SQSBackend
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
    _touched(table, hash_key, range_key)
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


# Queries. moto answers a Query by sorting every item of the table (DynamoType comparisons),
# then working out each candidate's size before testing its range condition, and deep-copying
# the page: 40 ms on the benchmark's table, where DynamoDB reads a page of one partition.
# Below, each partition a Query reads (of the table, or of an index) is kept in moto's query
# order, built on its first Query and then kept sorted as items are written (every write path
# of moto marks the keys it touched). moto's loop gets only the page: the items after the
# start key that meet the range condition, up to the limit, and the one after (its presence is
# what makes moto answer a LastEvaluatedKey). moto's own code still evaluates them (range
# conditions, filters, projections, paging), so answers do not change; one difference only:
# items failing the range condition no longer count toward moto's 1 MB page size (DynamoDB
# never reads them either). `make emulator-check` compares answers with plain moto's.

_moto_query = Table.query
_moto_table_put_item = Table.put_item
_moto_table_delete_item = Table.delete_item
_moto_update_item = DynamoDBBackend.update_item


class _SortedPartition:
    """The items of one partition, in moto's order for a Query (by `order`, the attributes
    moto sorts on, compared as the `cast_value` DynamoType compares)."""

    def __init__(self, order, hash_attrs, range_attrs):
        self.order, self.hash_attrs, self.range_attrs = order, hash_attrs, range_attrs
        self.sort_keys, self.items, self.where = [], [], {}

    def add(self, key, item):
        sort_key = tuple(item.attrs[a].cast_value for a in self.order)
        at = bisect.bisect_left(self.sort_keys, sort_key)
        self.sort_keys.insert(at, sort_key)
        self.items.insert(at, item)
        self.where[key] = sort_key

    def discard(self, key):
        sort_key = self.where.pop(key, None)
        if sort_key is not None:
            at = bisect.bisect_left(self.sort_keys, sort_key)
            del self.sort_keys[at], self.items[at]


def _key_attrs(index, key_type):
    return tuple(k["AttributeName"] for k in index.schema if k["KeyType"] == key_type)


class _IndexPartitions:
    """An index's partitions by the values of its hash key attributes."""

    def __init__(self, table, index):
        self.hash_attrs = _key_attrs(index, "HASH")
        self.ranges = list(_key_attrs(index, "RANGE"))
        self.sort_hash = [*self.hash_attrs, table.hash_key_attr]
        self.sort_range = [*self.ranges, table.range_key_attr]
        self.order = [a for a in [*self.hash_attrs, *self.ranges, table.hash_key_attr,
                                  table.range_key_attr] if a]
        self.partitions, self.where = {}, {}

    def update(self, key, item):
        old = self.where.pop(key, None)
        if old is not None:
            self.partitions[old].discard(key)
        values = item and tuple(item.attrs.get(a) for a in self.hash_attrs)
        # As moto: an item is in the index with every hash and range key attribute.
        if values and all(v is not None for v in values) and all(item.attrs.get(r) for r in self.ranges):
            if values not in self.partitions:
                self.partitions[values] = _SortedPartition(self.order, self.sort_hash, self.sort_range)
            self.partitions[values].add(key, item)
            self.where[key] = values


class _Partitions:
    """A table's partitions queried so far, and the item keys written since the last Query."""

    def __init__(self, table):
        self.table, self.touched, self.primary, self.indexes = table, set(), {}, {}

    def catch_up(self):
        touched, self.touched = self.touched, set()
        for key in touched:
            item = self.stored(key)
            partition = self.primary.get(key[0])
            if partition is not None:
                partition.discard(key)
                if item is not None:
                    partition.add(key, item)
            for index in self.indexes.values():
                index.update(key, item)

    def stored(self, key):
        partition = self.table.items.get(key[0])
        if partition is None or not self.table.range_key_attr:
            return partition
        return partition.get(key[1])

    def of_table(self, hash_key):
        table = self.table
        if hash_key not in self.primary:
            attrs = [table.hash_key_attr, table.range_key_attr]
            partition = _SortedPartition(attrs, attrs[:1], attrs[1:])
            for item in table.items.get(hash_key, {}).values():
                partition.add((item.hash_key, item.range_key), item)
            self.primary[hash_key] = partition
        return self.primary[hash_key]

    def of_index(self, index, hash_values):
        if index.name not in self.indexes:
            partitions = _IndexPartitions(self.table, index)
            for partition in self.table.items.values():
                for item in partition.values() if self.table.range_key_attr else [partition]:
                    partitions.update((item.hash_key, item.range_key), item)
            self.indexes[index.name] = partitions
        return self.indexes[index.name].partitions.get(hash_values)


def _touched(table, hash_key, range_key):
    """Marks an item key written, for the partitions already built."""
    partitions = table.__dict__.get("_partitions")
    if partitions is not None:
        partitions.touched.add((hash_key, range_key))


def _partition(table, hash_key, index_name, hash_key_conditions):
    """The sorted partition a Query reads, False where there is none, None where this
    shortcut does not apply."""
    if not table.range_key_attr:
        return None
    partitions = table.__dict__.get("_partitions")
    if partitions is None:
        partitions = table.__dict__["_partitions"] = _Partitions(table)
    partitions.catch_up()
    if not index_name:
        return None if hash_key is None else partitions.of_table(hash_key)
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    if index is None or not hash_key_conditions:
        return None
    wanted = dict(hash_key_conditions)
    attrs = _key_attrs(index, "HASH")
    if set(attrs) != set(wanted):
        return None
    return partitions.of_index(index, tuple(wanted[a] for a in attrs)) or False


_QUERY_SIGNATURE = inspect.signature(_moto_query)


def query(self, *args, **kwargs):
    # moto's backend passes its arguments by position, tests by name: bind them to names.
    call = _QUERY_SIGNATURE.bind(self, *args, **kwargs).arguments
    partition = _partition(self, call["hash_key"], call.get("index_name"), call.get("hash_key_conditions"))
    if partition is None:
        return _moto_query(self, *args, **kwargs)
    page = _page(self, partition, call) if partition else []
    self.all_items = lambda: page
    table_module.copy = _ResultsAsTheyAre
    try:
        return _moto_query(self, *args, **kwargs)
    finally:
        del self.all_items
        table_module.copy = copy


class _ResultsAsTheyAre:
    """`copy` as moto's Query sees it: the page is not deep-copied (2-3 ms for 25 items).

    Nothing changes the items on the way out: projections make new items and the answer is
    converted to plain dicts and sent before the next request is read (one at a time).
    """

    @staticmethod
    def deepcopy(obj, memo=None):
        if isinstance(obj, list) and all(isinstance(i, Item) for i in obj):
            return list(obj)
        return copy.deepcopy(obj, memo)


def _page(table, partition, call):
    """The candidates moto's Query loop needs, in its order."""
    conditions = call.get("range_key_conditions") or []
    ranges = partition.range_attrs[:-1] if call.get("index_name") else partition.range_attrs
    if len(conditions) > 1 or call.get("filter_kwargs") or len(ranges) != 1:
        return list(partition.items)  # multi-attribute keys, legacy QueryFilter: moto's own way
    forward = call.get("scan_index_forward", True)
    items = reversed(partition.items) if forward is False else iter(partition.items)
    start = call.get("exclusive_start_key")
    if start is not None:
        items = itertools.dropwhile(
            lambda i: table._item_comes_before_dct(
                i, start, partition.hash_attrs, partition.range_attrs, forward
            ),
            items,
        )
    comparison, objs, limit = call.get("range_comparison"), call.get("range_objs"), call.get("limit")
    on_index = bool(call.get("index_name"))
    page = []
    matched = 0
    for item in items:
        if matched == limit:
            page.append(item)
            break
        if comparison:
            value = item.attrs.get(ranges[0]) if on_index else item.range_key
            if not (value and value.compare(comparison, objs)):
                continue
        page.append(item)
        matched += 1
    return page


def table_put_item(self, item_attrs, *args, **kwargs):
    item = _moto_table_put_item(self, item_attrs, *args, **kwargs)
    _touched(self, item.hash_key, item.range_key)
    return item


def table_delete_item(self, hash_key, range_key):
    try:
        return _moto_table_delete_item(self, hash_key, range_key)
    finally:
        _touched(self, hash_key, range_key)


def update_item(self, table_name, key, *args, **kwargs):
    """Updates change items in place, without going through the table."""
    try:
        return _moto_update_item(self, table_name, key, *args, **kwargs)
    finally:
        try:
            table = self.get_table(table_name)
            _touched(table, *self.get_keys_value(table, key))
        except Exception:
            pass  # the update failed before naming a valid key: nothing written


Table.query = query
Table.put_item = table_put_item
Table.delete_item = table_delete_item
DynamoDBBackend.update_item = update_item


def _untracked(cls, *args, **kwargs):
    return object.__new__(cls)


# moto keeps every model object it ever made (every item version, every queue message) in
# a class-level list for its dashboard, which we do not use: memory grew without bound
# under load (16 GB in a long bench run).
BaseModel.__new__ = _untracked


# Per-request work moto repeats for answers that never change while it runs: listing its own
# package directory (a stat per service) to route each request, and listing a response
# class's methods with `inspect`. Together ~1.5 ms of every call's ~2 ms on loopback.
_moto_modules = tuple(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: _moto_modules
core_responses.method_names_from_class = functools.cache(core_responses.method_names_from_class)


# Answers of the data-plane operations. moto converts every answer's DynamoType values to
# plain dicts when it makes the answer, then walks them again against botocore's shape model
# to serialize them: ~20 us per attribute value, 10-30 ms for a page of 25 items (DynamoDB
# answers in single-digit ms). Answers are converted when sent instead, and those of the data
# plane dumped as JSON directly, DynamoType values included (binary as base64, as the
# serializer does). EMULATOR_CHECK_JSON=<file> serializes both ways and appends any
# difference to that file.
_DATA_PLANE = {
    "BatchGetItem", "BatchWriteItem", "DeleteItem", "GetItem", "PutItem", "Query", "Scan",
    "TransactGetItems", "TransactWriteItems", "UpdateItem",
}
_moto_execute_result = DynamoResult.execute_result


# Attribute values, where no member is ever None: not walked.
_ITEM_MEMBERS = {"Item", "Items", "Attributes"}


def _without_none(value, name=None):
    if name in _ITEM_MEMBERS:
        return value
    if isinstance(value, dict):
        return {k: _without_none(v, k) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


class _AnswerEncoder(DynamoJsonEncoder):
    """JSON of an answer as moto's conversion then serialization would make it."""

    def default(self, o):
        if isinstance(o, DynamoType):
            if o.type == "B":
                return {"B": _base64(o.value)}
            if o.type == "BS":
                return {"BS": [_base64(v) for v in o.value]}
            return {o.type: o.value}
        return super().default(o)


def _base64(value):
    # Stored as sent (base64 text), or as bytes after a projection; answered as canonical base64.
    raw = value if isinstance(value, bytes) else base64.b64decode(value)
    return base64.b64encode(raw).decode("ascii")


def _keep_answer(self, result):
    ActionResult.__init__(self, result)


def _execute_result(self, context):
    if context.operation_model.name not in _DATA_PLANE or not isinstance(self.result, dict):
        self._result = dynamo_to_dict(self._result)
        return _moto_execute_result(self, context)
    # Only the members the operation's output has (moto adds a few of its own).
    members = context.operation_model.output_shape.members
    result = {k: v for k, v in self.result.items() if k in members}
    body = json.dumps(_without_none(result), cls=_AnswerEncoder, separators=(",", ":"))
    check = os.environ.get("EMULATOR_CHECK_JSON")
    if check:
        self._result = dynamo_to_dict(self._result)
        _, _, moto_body = _moto_execute_result(self, context)
        if json.loads(moto_body) != json.loads(body):
            with open(check, "a", encoding="utf-8") as out:
                out.write(f"{context.operation_model.name} differs:\n{moto_body}\n{body}\n")
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, body


DynamoResult.__init__ = _keep_answer
DynamoResult.execute_result = _execute_result


# Update expressions. moto parses each one twice per write (to check its placeholders, then to
# apply it) and its validators walk the tree ten times, looking up each walker's node types
# for every node: 5-10 ms for the 15-clause SET of a message post. Parsed trees are kept per
# expression (moto deep-copies a tree before it changes it), and each walk looks its node types
# up once. The walk itself is moto's: the same nodes, in the same order, with the same hooks.
UpdateExpressionParser.make = functools.lru_cache(maxsize=1024)(UpdateExpressionParser.make)


def _traverse(self, node):
    processing = self._processing_map()
    types = tuple(processing)
    own_hook = type(self).pre_processing_of_child is not DepthFirstTraverser.pre_processing_of_child
    hook = self.pre_processing_of_child

    def walk(node, child_id=-1):
        if isinstance(node, Node):
            parent = node.parent
            if node.children is not None:
                for i, child in enumerate(node.children):
                    if own_hook:
                        hook(node, i)
                    walk(child, i)
            if isinstance(node, types):
                node = next(fn for cls, fn in processing.items() if isinstance(node, cls))(node)
                node.parent = parent
                if parent:
                    parent.children[child_id] = node
        return node

    return walk(node)


DepthFirstTraverser.traverse = _traverse


def _checked_at_the_root(check_class):
    """Runs a validator that only checks UpdateExpression nodes on the root alone.

    moto runs these checks (more than one SET clause? overlapping paths?) on every nested
    UpdateExpression node, each rescanning its whole subtree: quadratic in the number of
    actions. Whatever fails in a subtree fails at the root too, so a root that passes means
    every node passes; when the root fails, moto's own walk runs to raise its exact error.
    """
    full_walk = check_class.traverse

    def traverse(self, node):
        if isinstance(node, UpdateExpression):
            try:
                self._processing_map()[UpdateExpression](node)
                return node
            except Exception:
                pass
        return full_walk(self, node)

    check_class.traverse = traverse


_checked_at_the_root(ActionCountValidator)
_checked_at_the_root(OverlappingPathsValidator)


def _value_size(value):
    """DynamoType.size without moto's re-wrapping of every nested value at every level."""
    kind, inner = value.type, value.value
    if kind == "N":
        return len(str(inner))
    if kind == "L":
        return sum(_value_size(v) for v in inner)
    if kind == "M":
        return sum(
            bytesize(k) + _value_size(v if isinstance(v, DynamoType) else DynamoType(v))
            for k, v in inner.items()
        )
    if value.is_set():
        return _moto_value_size(value)
    if isinstance(inner, bool):
        return 1
    return bytesize(inner)


_moto_value_size = DynamoType.size
DynamoType.size = _value_size


# Projections. moto converts the whole item to plain JSON once per path of a
# ProjectionExpression: an inbox page of 25 rows projected to 5 or 6 paths took 15-20 ms.
# The item is converted once; each path only reads it. Where one path is a prefix of
# another (DynamoDB refuses such overlaps, moto does not), the answer holds parts of the
# converted item that merging the longer path would change for the paths after it: moto's
# own way then.
def _project(self, projection_expressions):
    paths = list(enumerate(projection_expressions))
    if any(i != j and q[: len(p)] == p for i, p in paths for j, q in paths):
        return _moto_project(self, projection_expressions)
    plain = self.to_regular_json()
    result = {}
    for path in projection_expressions:
        merge_dicts(result, find_nested_key(path, plain))
    return Item(hash_key=self.hash_key, range_key=self.range_key, attrs=serializer.serialize(result)["M"])


_moto_project = Item.project
Item.project = _project


# SQS. moto works out every attribute of a queue, the message counts among them (a pass over
# every message, reading the clock for each), whenever it reads any one, as SendMessage does
# three times to learn whether the queue deduplicates by content: 100 ms a message once a
# thousand wait. Attributes are worked out when read instead.
class _QueueAttributes(Mapping):
    def __init__(self, queue):
        self._queue = queue
        self._names = list(queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            self._names += queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:
            self._names += queue.KMS_ATTRIBUTES

    def __getitem__(self, name):
        if name not in self._names:
            raise KeyError(name)
        queue = self._queue
        if name == "RedrivePolicy" and queue.redrive_policy:
            return json.dumps(queue.redrive_policy)
        value = getattr(queue, _attribute_name(name))
        return str(value).lower() if isinstance(value, bool) else value

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)


_attribute_name = functools.cache(camelcase_to_underscores)
_moto_get_queue_attributes = SQSBackend.get_queue_attributes
Queue.attributes = property(_QueueAttributes)
SQSBackend.get_queue_attributes = lambda self, *args, **kwargs: dict(
    _moto_get_queue_attributes(self, *args, **kwargs)
)


_SENT_MAIL = []


def _with_sent_mail(app):
    """Records every e-mail SES v2 accepted (a `SendEmail` answered 200) with its headers,
    which moto does not keep, and answers `GET /_local/ses/sent` with them, oldest first."""
    import io

    def wsgi(environ, start_response):
        path = environ.get("PATH_INFO")
        if path == "/_local/ses/sent":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"items": _SENT_MAIL}).encode()]
        if path != "/v2/email/outbound-emails" or environ.get("REQUEST_METHOD") != "POST":
            return app(environ, start_response)
        length = environ.get("CONTENT_LENGTH")
        # A chunked body has no length: read to its end (the server marks it terminated).
        body = environ["wsgi.input"].read(int(length)) if length else environ["wsgi.input"].read()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        answered = {}

        def recording_start(status, headers, *rest):
            answered["status"] = status
            return start_response(status, headers, *rest)

        result = app(environ, recording_start)
        if answered.get("status", "").startswith("200"):
            request = json.loads(body or b"{}")
            destination = request.get("Destination", {})
            simple = request.get("Content", {}).get("Simple", {})
            _SENT_MAIL.append(
                {
                    "to": [a for key in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destination.get(key, [])],
                    "subject": simple.get("Subject", {}).get("Data"),
                    "body": simple.get("Body", {}).get("Text", {}).get("Data"),
                    "headers": {h["Name"]: h["Value"] for h in simple.get("Headers", [])},
                }
            )
        return result

    return wsgi


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = _with_sent_mail(DomainDispatcherApplication(create_backend_app))
    run_simple(args.host, args.port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
