"""Checks that infra/emulator.py answers as plain moto does.

Starts moto's own server and our emulator on loopback, sends both the same random sequence of
DynamoDB and SQS calls (writes that move items between index partitions, conditions that fail,
cancelled transactions, queries in both directions with limits, filters and paging to the end,
queue sends and attribute reads), and fails on the first answer that differs.

usage: emulator_check.py [STEPS] [SEED]
"""

import json
import os
import random
import socket
import subprocess
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = "Check"
VOLATILE = {"ResponseMetadata", "ConsumedCapacity", "MessageId", "SequenceNumber", "QueueUrl"}
QUEUE_VOLATILE = {"CreatedTimestamp", "LastModifiedTimestamp"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, *args, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{args} did not listen within 30 s")


def clients(port):
    kw = dict(
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="check",
        aws_secret_access_key="check",
        config=Config(retries={"max_attempts": 1}),
    )
    return boto3.client("dynamodb", **kw), boto3.client("sqs", **kw)


def answer(call):
    """An answer to compare: the result without per-request noise, or the error."""
    try:
        result = call()
    except ClientError as e:
        err = e.response.get("Error", {})
        return {"error": err.get("Code"), "message": err.get("Message"),
                "reasons": e.response.get("CancellationReasons")}
    result = {k: v for k, v in result.items() if k not in VOLATILE}
    if "Attributes" in result and isinstance(result["Attributes"], dict):
        result["Attributes"] = {
            k: v for k, v in result["Attributes"].items() if k not in QUEUE_VOLATILE
        }
    if "Messages" in result:
        result["Messages"] = [m["Body"] for m in result["Messages"]]
    return result


def unordered_sets(value):
    """Sets in a canonical order: a projection passes them through Python sets, whose order
    follows each process's string hashing, in moto as in the emulator (other answers keep
    the order sent, and are compared in it)."""
    if isinstance(value, dict):
        return {k: sorted(v) if k in ("SS", "NS", "BS") else unordered_sets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unordered_sets(v) for v in value]
    return value


class Steps:
    """Random calls over a small key space, so that they collide often."""

    def __init__(self, rng):
        self.rng = rng

    def value(self):
        r = self.rng
        kind = r.randrange(9)
        if kind == 6:
            return {"B": bytes(r.randrange(256) for _ in range(r.randrange(1, 9)))}
        if kind == 7:
            return {"SS": sorted({r.choice("abcdef") for _ in range(r.randrange(1, 4))})}
        if kind == 8:
            return {"BS": [bytes([i, r.randrange(256)]) for i in range(r.randrange(1, 3))]}
        if kind == 0:
            return {"N": str(r.randrange(-5, 50))}
        if kind == 1:
            return {"M": {"a": {"S": r.choice("xyz")}, "n": {"N": str(r.randrange(9))}}}
        if kind == 2:
            return {"L": [{"S": r.choice("ab")} for _ in range(r.randrange(3))]}
        if kind == 3:
            return {"BOOL": r.random() < 0.5}
        return {"S": r.choice("abcdef") * r.randrange(1, 40)}

    def key(self):
        r = self.rng
        return {"pk": {"S": f"P{r.randrange(3)}"}, "sk": {"S": f"{r.choice('#AT')}{r.randrange(12):02d}"}}

    def gsi(self):
        r = self.rng
        return {"gsi1pk": {"S": f"G{r.randrange(3)}"}, "gsi1sk": {"S": f"{r.randrange(20):02d}"}}

    def condition(self, kw):
        r = self.rng
        choice = r.randrange(5)
        if choice == 0:
            kw["ConditionExpression"] = "attribute_not_exists(pk)"
        elif choice == 1:
            kw["ConditionExpression"] = "attribute_exists(pk)"
        elif choice == 2:
            kw["ConditionExpression"] = "attribute_not_exists(n) OR n < :c"
            kw.setdefault("ExpressionAttributeValues", {})[":c"] = {"N": str(r.randrange(50))}
        return kw

    def put(self):
        item = {**self.key(), "n": {"N": str(self.rng.randrange(50))}, "v": self.value()}
        if self.rng.random() < 0.7:
            item.update(self.gsi())
        return self.condition({"TableName": TABLE, "Item": item})

    def update(self):
        r = self.rng
        sets, names, values = [], {}, {}
        for i in range(r.randrange(1, 5)):
            target = r.choice(["v", "n", "gsi1pk", "gsi1sk", "m", "m.a"])
            if target in names.values() or (target.startswith("m") and "#m" in names):
                continue
            if target.startswith("m"):
                # A document path: fails where the item has no map `m` yet.
                names["#m"] = "m"
                sets.append(f"#m = :x{i}" if target == "m" else f"#m.a = :x{i}")
                values[f":x{i}"] = {"M": {"a": {"S": "x"}}} if target == "m" else {"S": r.choice("xyz")}
                continue
            names[f"#t{i}"] = target
            if target == "n" and r.random() < 0.5:
                sets.append(f"#t{i} = if_not_exists(#t{i}, :zero) + :x{i}")
                values[":zero"] = {"N": "0"}
                values[f":x{i}"] = {"N": str(r.randrange(1, 4))}
            elif target.startswith("gsi1"):
                sets.append(f"#t{i} = :x{i}")
                values[f":x{i}"] = self.gsi()[target]
            else:
                sets.append(f"#t{i} = :x{i}")
                values[f":x{i}"] = self.value() if target == "v" else {"N": str(r.randrange(50))}
        expression = "SET " + ", ".join(sets)
        if r.random() < 0.05:
            # Invalid: the same path twice, overlapping paths, two SET clauses.
            expression += r.choice([", #d = :d", ", m = :d, m.a = :d", " SET w = :d", " REMOVE n REMOVE v"])
            names["#d"] = next(iter(names.values()))
            values[":d"] = {"N": "1"}
        if r.random() < 0.2 and "gsi1pk" not in names.values():
            expression += " REMOVE gsi1pk"
        kw = {"TableName": TABLE, "Key": self.key(), "UpdateExpression": expression,
              "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}
        return self.condition(kw)

    def delete(self):
        return self.condition({"TableName": TABLE, "Key": self.key()})

    def transaction(self):
        r = self.rng
        items, keys = [], set()
        for _ in range(r.randrange(1, 5)):
            kind = r.choice(["Put", "Update", "Delete", "ConditionCheck"])
            kw = {"Put": self.put, "Update": self.update, "Delete": self.delete,
                  "ConditionCheck": self.delete}[kind]()
            key = json.dumps(kw.get("Key") or {a: kw["Item"][a] for a in ("pk", "sk")}, sort_keys=True)
            if key in keys:
                continue
            keys.add(key)
            if kind == "ConditionCheck" and "ConditionExpression" not in kw:
                kw["ConditionExpression"] = "attribute_exists(pk)"
            items.append({kind: kw})
        return {"TransactItems": items}

    def query(self):
        r = self.rng
        on_index = r.random() < 0.5
        values = {}
        if on_index:
            kw = {"IndexName": "gsi1"}
            hash_attr, range_attr = "gsi1pk", "gsi1sk"
            values[":h"] = self.gsi()["gsi1pk"]
            bound = lambda: {"S": f"{r.randrange(20):02d}"}
            prefix = {"S": str(r.randrange(2))}
        else:
            kw = {"ConsistentRead": r.random() < 0.5}
            hash_attr, range_attr = "pk", "sk"
            values[":h"] = self.key()["pk"]
            bound = lambda: self.key()["sk"]
            prefix = {"S": r.choice("#AT")}
        condition = f"{hash_attr} = :h"
        choice = r.randrange(6)
        if choice == 1:
            condition += f" AND begins_with({range_attr}, :p)"
            values[":p"] = prefix
        elif choice == 2:
            condition += f" AND {range_attr} < :b"
            values[":b"] = bound()
        elif choice == 3:
            condition += f" AND {range_attr} >= :b"
            values[":b"] = bound()
        elif choice == 4:
            low, high = sorted([bound(), bound()], key=lambda v: v["S"])
            condition += f" AND {range_attr} BETWEEN :lo AND :hi"
            values.update({":lo": low, ":hi": high})
        kw.update(TableName=TABLE, KeyConditionExpression=condition,
                  ExpressionAttributeValues=values, ScanIndexForward=r.random() < 0.5)
        if r.random() < 0.7:
            kw["Limit"] = r.randrange(1, 8)
        if r.random() < 0.3:
            kw["FilterExpression"] = "n > :f"
            values[":f"] = {"N": str(r.randrange(50))}
        if r.random() < 0.2:
            kw["ProjectionExpression"] = "pk, sk, n"
        elif r.random() < 0.2:
            # Nested paths, as the inbox's rows are read, list elements, and overlapping
            # paths (which DynamoDB refuses and moto answers).
            kw["ProjectionExpression"] = r.choice(
                ["pk, #m.a, v", "v.a, v.n, gsi1pk", "v[0], v[1], sk", "#m, #m.a, sk", "v, v[0], n"])
            if "#m" in kw["ProjectionExpression"]:
                kw["ExpressionAttributeNames"] = {"#m": "m"}
        if r.random() < 0.2 and "ProjectionExpression" not in kw:
            kw["Select"] = "COUNT"
        return kw


def table_definition():
    attrs = [{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gsi1pk", "gsi1sk")]
    return {
        "TableName": TABLE,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                      {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": attrs,
        "GlobalSecondaryIndexes": [{
            "IndexName": "gsi1",
            "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"},
                          {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
        "BillingMode": "PAY_PER_REQUEST",
    }


def main():
    steps_wanted = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else int(time.time())
    rng = random.Random(seed)
    servers = [start(["-m", "moto.server"]), start([os.path.join(HERE, "emulator.py")])]
    try:
        (moto_ddb, moto_sqs), (ours_ddb, ours_sqs) = [clients(port) for _, port in servers]
        steps = Steps(rng)
        compared = 0

        def both(what, operation, kw):
            nonlocal compared
            theirs = answer(lambda: getattr(moto_ddb if what == "ddb" else moto_sqs, operation)(**kw))
            ours = answer(lambda: getattr(ours_ddb if what == "ddb" else ours_sqs, operation)(**kw))
            if "ProjectionExpression" in kw:
                theirs, ours = unordered_sets(theirs), unordered_sets(ours)
            compared += 1
            if theirs != ours:
                raise SystemExit(
                    f"seed {seed}, step {compared}: {operation} answered differently\n"
                    f"request: {json.dumps(kw, default=str)}\nmoto:     {json.dumps(theirs, default=str)}\n"
                    f"emulator: {json.dumps(ours, default=str)}"
                )
            return ours

        for ddb in (moto_ddb, ours_ddb):
            ddb.create_table(**table_definition())
        queue = {"QueueName": "check.fifo", "Attributes": {"FifoQueue": "true"}}
        both("sqs", "create_queue", queue)
        # moto finds a queue by the name at the end of its URL, whichever host the URL names.
        url = ours_sqs.get_queue_url(QueueName="check.fifo")["QueueUrl"]
        for step in range(steps_wanted):
            kind = rng.choices(["put", "update", "delete", "tx", "get", "query", "sqs"],
                               [4, 4, 1, 2, 1, 5, 1])[0]
            if kind == "put":
                both("ddb", "put_item", steps.put())
            elif kind == "update":
                both("ddb", "update_item", steps.update())
            elif kind == "delete":
                both("ddb", "delete_item", steps.delete())
            elif kind == "tx":
                both("ddb", "transact_write_items", steps.transaction())
            elif kind == "get":
                both("ddb", "get_item", {"TableName": TABLE, "Key": steps.key(), "ConsistentRead": True})
            elif kind == "query":
                kw = steps.query()
                for _ in range(100):  # every page, to the end
                    page = both("ddb", "query", kw)
                    if "LastEvaluatedKey" not in page:
                        break
                    kw = {**kw, "ExclusiveStartKey": page["LastEvaluatedKey"]}
            else:
                n = rng.randrange(1000)
                both("sqs", "send_message", {"QueueUrl": url, "MessageBody": f"m{n}",
                                             "MessageGroupId": f"g{n % 3}",
                                             "MessageDeduplicationId": f"d{n}"})
                names = rng.choice([["All"], ["ApproximateNumberOfMessages", "FifoQueue"]])
                both("sqs", "get_queue_attributes", {"QueueUrl": url, "AttributeNames": names})
        print(f"emulator check: {compared} answers identical to moto's (seed {seed}, {steps_wanted} steps)")
    finally:
        for proc, _ in servers:
            proc.kill()


if __name__ == "__main__":
    main()
