import type { LocalCluster } from "./cluster.ts";

/**
 * A scraper as a team's Prometheus would be one: a pod in a namespace labelled for scraping
 * (the Exchange's NetworkPolicies admit such namespaces to the metrics ports), fetching each
 * URL through the cluster's DNS and Services. It runs the Bourse image's Node (the only image
 * with an HTTP client here) and prints one JSON line per URL, which the test reads from its log.
 */
export const SCRAPER_NAMESPACE = "monitoring";

const SCRIPT = `
const urls = JSON.parse(process.argv[1]);
(async () => {
  for (const url of urls) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(10000) });
      console.log(JSON.stringify({ url, status: res.status, body: await res.text() }));
    } catch (e) {
      console.log(JSON.stringify({ url, status: 0, body: String(e && e.cause ? e.cause.code : e) }));
    }
  }
})();
`;

let runs = 0;

/** GETs every URL from a pod in the scraper namespace: each URL's status and body. */
export async function scrapeInCluster(
  cluster: LocalCluster,
  urls: readonly string[],
): Promise<Map<string, { status: number; body: string }>> {
  await cluster.kubectl(
    ["apply", "-f", "-"],
    JSON.stringify({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: SCRAPER_NAMESPACE, labels: { "bourse.dev/scrape-metrics": "true" } },
    }),
  );
  const { repository, tag } = cluster.images.bourse;
  const pod = `scraper-${++runs}`;
  const ns = ["-n", SCRAPER_NAMESPACE];
  await cluster.kubectl([
    ...ns,
    "run",
    pod,
    `--image=${repository}:${tag}`,
    "--image-pull-policy=Never",
    "--restart=Never",
    "--command",
    "--",
    "node",
    "-e",
    SCRIPT,
    JSON.stringify(urls),
  ]);
  try {
    await cluster.kubectl([
      ...ns,
      "wait",
      "--for=jsonpath={.status.phase}=Succeeded",
      `pod/${pod}`,
      "--timeout=180s",
    ]);
    const log = await cluster.kubectl([...ns, "logs", pod]);
    const answers = new Map<string, { status: number; body: string }>();
    for (const line of log.split("\n").filter(Boolean)) {
      const { url, status, body } = JSON.parse(line) as { url: string; status: number; body: string };
      answers.set(url, { status, body });
    }
    return answers;
  } finally {
    await cluster.kubectl([...ns, "delete", "pod", pod, "--wait=false"]).catch(() => "");
  }
}
