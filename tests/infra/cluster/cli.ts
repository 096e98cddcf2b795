/**
 * The local cluster by hand: `npm run cluster:up` builds what is missing, starts the cluster,
 * installs the operator with its chart, applies the example Exchange (the images built here,
 * Cassandra as the store), waits for it to be Ready and prints how to reach it; the cluster keeps
 * running. `npm run cluster:up -- --bare` stops after the cluster itself. `npm run cluster:down`
 * stops it and cleans up, also after a run that crashed.
 */
import { startLocalCluster } from "./cluster.ts";
import { adminToken, installOperator, localExchange } from "./exchange.ts";
import { stopCluster } from "./node.ts";

const [command, option] = process.argv.slice(2);
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
if (command === "up") {
  const cluster = await startLocalCluster((line) => console.log(line));
  console.log(`cluster up in ${elapsed()}`);
  console.log(`export KUBECONFIG=${cluster.kubeconfig}`);
  console.log(`kubectl: ${cluster.binaries.kubectl}  helm: ${cluster.binaries.helm}`);
  console.log(`Bourse image: spec.image = ${JSON.stringify(cluster.images.bourse)}`);
  if (option !== "--bare") {
    await installOperator(cluster);
    console.log(`operator installed (namespace bourse-system) at ${elapsed()}`);
    await cluster.kubectl(["apply", "-f", "-"], await localExchange(cluster));
    await cluster.kubectl(["wait", "--for=condition=Ready", "exchange/demo", "--timeout=15m"]);
    console.log(await cluster.kubectl(["get", "exchanges,pods"]));
    console.log(`Exchange demo Ready at ${elapsed()}`);
    console.log(`trading API:  ${await cluster.forward("default", "demo-gateway", 8080)}`);
    console.log(`operator API: ${await cluster.forward("default", "demo-admin", 8081)}`);
    console.log(`operator API token: ${await adminToken(cluster, "demo")}`);
  }
} else if (command === "down") {
  await stopCluster();
  console.log(`cluster down in ${elapsed()}`);
} else {
  console.error("usage: cli.ts up [--bare] | down");
  process.exit(2);
}
