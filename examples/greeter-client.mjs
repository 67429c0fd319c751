#!/usr/bin/env node
// A stock gRPC xDS client for the quickstart: @grpc/grpc-js-xds, unmodified,
// configured only by the bootstrap file named in GRPC_XDS_BOOTSTRAP.
//   GRPC_XDS_BOOTSTRAP=bootstrap.json node examples/greeter-client.mjs xds:///greeter [count]
import * as grpc from "@grpc/grpc-js";
import * as grpcXds from "@grpc/grpc-js-xds";
import * as protoLoader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";

grpcXds.register();
const target = process.argv[2] ?? "xds:///greeter";
const count = Number(process.argv[3] ?? 5);
const proto = protoLoader.loadSync(fileURLToPath(new URL("./greeter.proto", import.meta.url)), { keepCase: true });
const { Greeter } = grpc.loadPackageDefinition(proto).steadymesh.test;
const client = new Greeter(target, grpc.credentials.createInsecure());

let failed = 0;
for (let i = 0; i < count; i++) {
  await new Promise((resolve) => {
    client.SayHello({ name: "quickstart" }, { deadline: Date.now() + 5000 }, (err, reply) => {
      if (err) {
        failed++;
        console.log(`call ${i + 1}: ${grpc.status[err.code]}: ${err.details}`);
      } else {
        console.log(`call ${i + 1}: ${reply.message} from ${reply.backend}`);
      }
      resolve();
    });
  });
}
client.close();
// The xDS client keeps its ADS stream open for the life of the process, so exit explicitly.
process.exit(failed ? 1 : 0);
