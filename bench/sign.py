#!/usr/bin/env python3
"""Signs one Bedrock Converse request with SigV4 (botocore's own signer) and
prints the headers to send, one `Name: value` per line.

The load generator replays this one signed request over keep-alive
connections. That is a valid request for as long as its X-Amz-Date is
within the server's 5-minute clock-skew window, so run.sh signs afresh
before every measurement (each is at most a few tens of seconds).

Usage: sign.py --creds creds.json --url https://127.0.0.1:28443/model/sekisho.echo-v1/converse
               --body-file body.json [--region us-east-1]
"""

import argparse
import json

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--creds", required=True, help="JSON with access_key_id and secret_access_key")
    ap.add_argument("--url", required=True)
    ap.add_argument("--body-file", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--service", default="bedrock")
    args = ap.parse_args()

    with open(args.creds) as f:
        c = json.load(f)
    with open(args.body_file, "rb") as f:
        body = f.read()
    creds = Credentials(c["access_key_id"], c["secret_access_key"], c.get("session_token"))
    request = AWSRequest(method="POST", url=args.url, data=body,
                         headers={"Content-Type": "application/json"})
    SigV4Auth(creds, args.service, args.region).add_auth(request)
    for name, value in request.headers.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
