#!/usr/bin/env node
// The quickstart's steady: client: plain @grpc/grpc-js with steadymesh's resolver.
//   node examples/steady-client.mjs steady:///greeter [count]
// Order of truth: live xDS (127.0.0.1:18000) → endpoints cached on disk → DNS SRV (127.0.0.1:18053).
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";
import { registerSteadyResolver } from "steadymesh/client";

const steady = registerSteadyResolver({
  xdsServers: [process.env.STEADY_XDS ?? "127.0.0.1:18000"],
  nodeId: "quickstart-steady",
  dns: { server: process.env.STEADY_DNS ?? "127.0.0.1:18053", domain: "mesh" },
  cacheDir: ".steadymesh-client-cache",
  onEvent: (e) => e.type === "source-changed" && console.error(`[steady] ${e.target}: ${e.from} → ${e.to} (${e.reason})`),
});

const target = process.argv[2] ?? "steady:///greeter";
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
        console.log(`call ${i + 1}: ${reply.message} from ${reply.backend} (source: ${steady.sources()[target.replace("steady:///", "")]})`);
      }
      resolve();
    });
  });
}
client.close();
await steady.close(); // waits for the endpoint cache to be on disk
process.exit(failed ? 1 : 0);
