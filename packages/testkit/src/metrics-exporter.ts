import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny Prometheus exporter for tests: an HTTP server on loopback that serves `/metrics` in the
 * text exposition format (0.0.4) with the gauges a test sets, so a real Prometheus scraping it fires
 * real alerts. Labels are served as set (`instance` too: scrape it with `honor_labels`), which is
 * how one exporter stands for many fake hosts.
 */
export interface MetricsExporter {
  /** `127.0.0.1:PORT`, for a Prometheus `static_configs` target. */
  target: string;
  /** `http://127.0.0.1:PORT/metrics`. */
  url: string;
  /** Sets a gauge for one label set, adding the series if new. */
  set(name: string, labels: Readonly<Record<string, string>>, value: number): void;
  /** Removes a series: Prometheus sees it go stale on the next scrape. */
  delete(name: string, labels: Readonly<Record<string, string>>): void;
  /** How many times `/metrics` was served. */
  scrapes(): number;
  close(): Promise<void>;
}

/**
 * The labels of a fake host, as node_exporter behind relabelling would carry them (a type, not an
 * interface, so it is a label set as it is).
 */
export type FakeHost = {
  instance: string;
  host: string;
  cluster: string;
  service: string;
};

/**
 * `count` fake hosts `host-001`, `host-002`, … spread round robin over the clusters and services
 * (`instance` is `host-001:9100`, as a node_exporter target would be).
 */
export function fakeHosts(
  count: number,
  options: { clusters?: string[]; services?: string[]; prefix?: string } = {},
): FakeHost[] {
  const clusters = options.clusters ?? ['cluster-a'];
  const services = options.services ?? ['web'];
  const width = Math.max(3, String(count).length);
  return Array.from({ length: count }, (_, i) => {
    const host = `${options.prefix ?? 'host-'}${String(i + 1).padStart(width, '0')}`;
    return {
      instance: `${host}:9100`,
      host,
      cluster: clusters[i % clusters.length]!,
      service: services[i % services.length]!,
    };
  });
}

export async function startMetricsExporter(address = '127.0.0.1'): Promise<MetricsExporter> {
  // name -> serialized label set -> value
  const gauges = new Map<string, Map<string, number>>();
  let scrapes = 0;
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    scrapes++;
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(exposition(gauges));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    target: `${address}:${port}`,
    url: `http://${address}:${port}/metrics`,
    set(name, labels, value) {
      if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`bad metric name ${name}`);
      const series = gauges.get(name) ?? new Map<string, number>();
      gauges.set(name, series);
      series.set(labelSet(labels), value);
    },
    delete(name, labels) {
      gauges.get(name)?.delete(labelSet(labels));
    },
    scrapes: () => scrapes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function exposition(gauges: Map<string, Map<string, number>>): string {
  let text = '';
  for (const [name, series] of gauges) {
    text += `# TYPE ${name} gauge\n`;
    for (const [labels, value] of series) text += `${name}${labels} ${value}\n`;
  }
  return text;
}

/** `{a="1",b="2"}` with the label names sorted, values escaped as the text format wants. */
function labelSet(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((k) => {
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k)) throw new Error(`bad label name ${k}`);
      const v = labels[k]!.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
      return `${k}="${v}"`;
    });
  return `{${pairs.join(',')}}`;
}
