"""A child process holding a STOCK Python grpcio client, as an application would.

Run it with Debian's /usr/bin/python3 (python3-grpcio, the C-core). The C-core
reads its xDS bootstrap from GRPC_XDS_BOOTSTRAP_CONFIG (inline JSON) or
GRPC_XDS_BOOTSTRAP (a file), once per process, so one process keeps its xDS
state across a test's steps.

The first stdout line is {"grpc": "<version>", "xdsChannelCredentials": <bool>}
(whether this grpcio has grpc.xds_channel_credentials). Then commands arrive
as JSON lines on stdin and each gets one JSON line on stdout:
  {"op":"call","target":"xds:///greeter","count":5,"deadlineMs":1000,"credentials":"insecure"}
      -> {"results":[{"ok":true,"backend":"b1"} | {"ok":false,"code":14,"details":"..."}]}
      credentials: "insecure" (the default; grpc.insecure_channel) or "xds"
      (grpc.xds_channel_credentials with insecure fallback: mTLS where the
      Cluster has an UpstreamTlsContext, with the bootstrap's certificate
      providers, plain text elsewhere)
      optional: "method" ("SayHello", the default, or "SayHelloAgain": the same
      messages under another path, as test/helpers/policy-backend.ts serves),
      "metadata" ({"x-canary": "yes"}: sent with every call) and "timed": true
      (each result also carries "ms", the call's wall time in milliseconds)
  {"op":"reset"}   (closes the channels; the next call makes new ones)
It exits when stdin closes.

No generated stubs: steadymesh.test.HelloRequest and HelloReply
(examples/greeter.proto) have only string fields, encoded by hand below.
"""

import json
import sys
import time

import grpc
import grpc.experimental

METHODS = {
    "SayHello": "/steadymesh.test.Greeter/SayHello",
    "SayHelloAgain": "/steadymesh.test.Greeter/SayHelloAgain",
}


def encode_request(name):
    """HelloRequest{name = 1}: tag 0x0a, a varint length, the UTF-8 bytes."""
    data = name.encode("utf-8")
    return bytes([0x0A]) + encode_varint(len(data)) + data


def encode_varint(value):
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_reply(data):
    """HelloReply{message = 1, backend = 2}: every field is length-delimited."""
    fields = {}
    pos = 0
    while pos < len(data):
        key, pos = decode_varint(data, pos)
        if key & 0x7 != 2:
            raise ValueError("HelloReply: field %d has wire type %d; only strings are expected" % (key >> 3, key & 0x7))
        length, pos = decode_varint(data, pos)
        fields[key >> 3] = data[pos:pos + length].decode("utf-8")
        pos += length
    return {"message": fields.get(1, ""), "backend": fields.get(2, "")}


def decode_varint(data, pos):
    value = 0
    shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


channels = {}


def new_channel(target, credentials):
    if credentials == "insecure":
        return grpc.insecure_channel(target)
    if credentials == "xds":
        fallback = grpc.experimental.insecure_channel_credentials()
        return grpc.secure_channel(target, grpc.xds_channel_credentials(fallback))
    raise ValueError("credentials: unknown %r; allowed: insecure, xds" % credentials)


def stub_for(target, credentials, method):
    """One channel per (target, credentials), shared by both methods' stubs."""
    if method not in METHODS:
        raise ValueError("method: unknown %r; allowed: %s" % (method, ", ".join(METHODS)))
    key = (target, credentials)
    if key not in channels:
        channels[key] = (new_channel(target, credentials), {})
    channel, stubs = channels[key]
    if method not in stubs:
        stubs[method] = channel.unary_unary(METHODS[method], request_serializer=encode_request, response_deserializer=decode_reply)
    return stubs[method]


def call_once(target, deadline_ms, credentials, method, metadata, timed):
    started = time.monotonic()
    try:
        reply = stub_for(target, credentials, method)("test", timeout=deadline_ms / 1000.0, metadata=metadata)
        result = {"ok": True, "backend": reply["backend"]}
    except grpc.RpcError as err:
        result = {"ok": False, "code": err.code().value[0], "details": err.details() or ""}
    if timed:
        result["ms"] = (time.monotonic() - started) * 1000.0
    return result


def handle(cmd):
    if cmd["op"] == "reset":
        for channel, _ in channels.values():
            channel.close()
        channels.clear()
        return {"ok": True}
    if cmd["op"] == "call":
        count = cmd.get("count", 1)
        deadline_ms = cmd.get("deadlineMs", 1000)
        credentials = cmd.get("credentials", "insecure")
        method = cmd.get("method", "SayHello")
        metadata = tuple(sorted(cmd.get("metadata", {}).items())) or None
        timed = cmd.get("timed", False)
        return {"results": [call_once(cmd["target"], deadline_ms, credentials, method, metadata, timed) for _ in range(count)]}
    return {"error": "op: unknown %r; allowed: call, reset" % cmd["op"]}


def main():
    print(json.dumps({"grpc": grpc.__version__, "xdsChannelCredentials": hasattr(grpc, "xds_channel_credentials")}), flush=True)
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(handle(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
