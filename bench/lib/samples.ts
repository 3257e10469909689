/** One measured round of an HTTP load against one server. */
export interface Sample {
  rps: number;
  p99: number;
  /** The server's CPU time per request (µs), from /proc: what a request costs it, whatever else runs. */
  cpuUs: number;
}

/** The round with the median rate. */
export function median(xs: Sample[]): Sample {
  return [...xs].sort((a, b) => a.rps - b.rps)[Math.floor(xs.length / 2)];
}
