#!/usr/bin/env node
// A tiny gRPC backend for the quickstart: answers SayHello with its own id.
//   node examples/greeter-server.mjs --port 50051 --id a
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const { values } = parseArgs({ options: { port: { type: "string", default: "50051" }, id: { type: "string", default: "a" }, host: { type: "string", default: "127.0.0.1" } } });
const proto = protoLoader.loadSync(fileURLToPath(new URL("./greeter.proto", import.meta.url)), { keepCase: true });
const { Greeter } = grpc.loadPackageDefinition(proto).steadymesh.test;

const server = new grpc.Server();
server.addService(Greeter.service, {
  SayHello(call, callback) {
    callback(null, { message: `hello ${call.request.name}`, backend: values.id });
  },
});
server.bindAsync(`${values.host}:${values.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(`greeter-server: cannot listen on ${values.host}:${values.port}: ${err.message}`);
    process.exit(1);
  }
  console.log(`greeter ${values.id} listening on ${values.host}:${port}`);
});
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => server.tryShutdown(() => process.exit(0)));
