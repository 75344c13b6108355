"""Starts the AWS emulator (moto, pinned in requirements-emulator.txt) on loopback.

Same as `moto_server`, with one difference: requests are served one at a time. moto rolls
a failed TransactWriteItems back by restoring a copy of the whole table taken before it
ran; with concurrent requests that restore silently erases writes that other requests
committed meanwhile. DynamoDB never loses a committed write, so neither may our emulator.
"""

import argparse
import os

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


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
