/**
 * The local cluster by hand: `npm run cluster:up` builds what is missing, starts the cluster and
 * leaves it running (it prints the kubeconfig to use); `npm run cluster:down` stops it and cleans
 * up, also after a run that crashed.
 */
import { startLocalCluster } from "./cluster.ts";
import { stopCluster } from "./node.ts";

const command = process.argv[2];
const started = Date.now();
if (command === "up") {
  const cluster = await startLocalCluster((line) => console.log(line));
  console.log(`cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`export KUBECONFIG=${cluster.kubeconfig}`);
  console.log(`kubectl: ${cluster.binaries.kubectl}  helm: ${cluster.binaries.helm}`);
  console.log(`Bourse image: spec.image = ${JSON.stringify(cluster.images.bourse)}`);
} else if (command === "down") {
  await stopCluster();
  console.log(`cluster down in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} else {
  console.error("usage: cli.ts up|down");
  process.exit(2);
}
