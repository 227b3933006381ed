import type { RunEvent } from '@opsbook/runner';

/**
 * The steps running now, by host (a composed runbook's inside its step), kept from a run's
 * events: what a first Ctrl-C says it waits for (`waitingText`), for every command that runs
 * steps (run, inspect, inventory, the evidence runs of ticket open and comment).
 */
export function runningStepsOf(): { onEvent(event: RunEvent): void; list(): string[] } {
  const running = new Map<string, string[]>();
  return {
    onEvent(event) {
      if (event.type === 'step-start')
        running.set(event.host, [
          ...(running.get(event.host) ?? []),
          `${event.phase}/${event.step}`,
        ]);
      if (event.type === 'step-end') running.get(event.host)?.pop();
      if (event.type === 'host-end') running.delete(event.host);
    },
    list: () =>
      [...running]
        .filter(([, steps]) => steps.length > 0)
        .map(([host, steps]) => `${host} ${steps.at(-1)}`),
  };
}
