import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";

/** Set in the environment of the workers this primary forks, so a cluster someone else runs is not taken for ours. */
const WORKER_ENV = "PEOPLE_NOTES_WORKER";
const SHUTDOWN_COMMAND = "people-notes:shutdown";

/** A worker that exits is forked again after this, doubling on every exit that comes soon after its start. */
export const FIRST_RESTART_DELAY_MS = 100;
export const MAX_RESTART_DELAY_MS = 5_000;
/** A worker that stayed up this long was healthy: its slot's restart delay starts again from the first. */
export const STABLE_AFTER_MS = 10_000;
/** More unexpected exits than this within the window is a crash loop: the service stops. */
export const CRASH_LOOP_EXITS = 5;
export const CRASH_LOOP_WINDOW_MS = 30_000;
/** How long past the workers' own last moment the primary waits before it kills them. */
const PRIMARY_MARGIN_MS = 1_000;

interface ShutdownRequest {
  cmd: typeof SHUTDOWN_COMMAND;
  signal: string;
}

const isShutdownRequest = (message: unknown): message is ShutdownRequest =>
  typeof message === "object" && message !== null && (message as { cmd?: unknown }).cmd === SHUTDOWN_COMMAND;

/** True in a worker forked by `superviseWorkers`. */
export function isClusterWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_ENV] === "1";
}

/**
 * In a worker: `stop` runs when the primary passes on the signal it got. A message rather than a
 * signal, because a terminal's Ctrl-C reaches the workers by itself too, and a second signal
 * means "exit now".
 */
export function onShutdownRequest(stop: (signal: string) => void): void {
  process.on("message", (message: unknown) => {
    if (isShutdownRequest(message)) stop(message.signal);
  });
}

export interface SupervisorOptions {
  workers: number;
  /** The longest a worker may take to exit after the signal (its drain deadline and exit margin). */
  workerExitDeadlineMs: number;
  log: Logger;
}

interface Slot {
  /** 1…workers, stable across restarts, for the logs. */
  number: number;
  /** 0 for the first worker in the slot, then one more per restart. */
  generation: number;
  restartDelayMs: number;
  worker?: Worker;
  startedAt: number;
  listening: boolean;
  /** Stopped before it was listening: it had served nothing, so how it ends does not matter. */
  stoppedWhileStarting?: boolean;
  restartTimer?: NodeJS.Timeout;
}

/**
 * The cluster primary: forks the workers (they share the port), restarts one that dies with
 * growing delays, stops everything on a crash loop, and passes SIGTERM and SIGINT on so that each
 * worker drains as a single process does. It exits 0 when every worker stopped cleanly, else 1.
 */
export function superviseWorkers({ workers, workerExitDeadlineMs, log }: SupervisorOptions): void {
  const slots: Slot[] = Array.from({ length: workers }, (_, i) => ({
    number: i + 1,
    generation: 0,
    restartDelayMs: FIRST_RESTART_DELAY_MS,
    startedAt: 0,
    listening: false,
  }));
  const recentExits: number[] = [];
  let stopping = false;
  let exitCode = 0;

  const slotOf = (worker: Worker) => slots.find((slot) => slot.worker === worker);
  const running = () => slots.filter((slot) => slot.worker !== undefined);

  function fork(slot: Slot): void {
    slot.restartTimer = undefined;
    const worker = cluster.fork({ [WORKER_ENV]: "1" });
    Object.assign(slot, { worker, startedAt: Date.now(), listening: false, stoppedWhileStarting: false });
    log.info({ worker: slot.number, workerPid: worker.process.pid }, "worker started");
    worker.once("listening", () => {
      slot.listening = true;
      log.info({ worker: slot.number, workerPid: worker.process.pid }, "worker listening");
    });
  }

  function stopService(reason: string): void {
    console.error(`people-notes: ${reason}; stopping the service`);
    exitCode = 1;
    stop("SIGTERM");
  }

  function onExit(worker: Worker, code: number | null, signal: string | null): void {
    const slot = slotOf(worker);
    if (!slot) return;
    slot.worker = undefined;
    const pid = worker.process.pid;
    if (stopping) {
      if (code !== 0 && !slot.stoppedWhileStarting) exitCode = 1;
      log.info({ worker: slot.number, workerPid: pid, code, signal }, "worker stopped");
      if (running().length === 0) process.exit(exitCode);
      return;
    }
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    if (!slot.listening && slot.generation === 0) {
      stopService(`worker ${slot.number} (pid ${pid}) ${how} before it was listening`);
      return;
    }
    const now = Date.now();
    recentExits.push(now);
    while ((recentExits[0] ?? now) < now - CRASH_LOOP_WINDOW_MS) recentExits.shift();
    if (recentExits.length > CRASH_LOOP_EXITS) {
      const seconds = CRASH_LOOP_WINDOW_MS / 1000;
      stopService(`crash loop: ${recentExits.length} workers exited unexpectedly within ${seconds} s`);
      return;
    }
    if (now - slot.startedAt >= STABLE_AFTER_MS) slot.restartDelayMs = FIRST_RESTART_DELAY_MS;
    const delayMs = slot.restartDelayMs;
    slot.restartDelayMs = Math.min(delayMs * 2, MAX_RESTART_DELAY_MS);
    slot.generation++;
    log.warn(
      { worker: slot.number, workerPid: pid, code, signal, restartInMs: delayMs },
      `worker ${how}: restarting it`,
    );
    slot.restartTimer = setTimeout(() => fork(slot), delayMs);
  }

  function stop(signal: string): void {
    stopping = true;
    for (const slot of slots) clearTimeout(slot.restartTimer);
    const left = running();
    if (left.length === 0) process.exit(exitCode);
    for (const slot of left) {
      const { worker } = slot;
      if (!worker) continue;
      if (slot.listening && worker.isConnected()) {
        worker.send({ cmd: SHUTDOWN_COMMAND, signal } satisfies ShutdownRequest);
      } else {
        // Not serving yet, so nothing to drain; and it may not be listening for the request.
        slot.stoppedWhileStarting = true;
        worker.process.kill("SIGKILL");
      }
    }
    setTimeout(() => {
      log.error(
        { workerPids: running().map((slot) => slot.worker?.process.pid) },
        "workers still running: killing them",
      );
      killAll();
      process.exit(1);
    }, workerExitDeadlineMs + PRIMARY_MARGIN_MS).unref();
  }

  function killAll(): void {
    for (const { worker } of running()) worker?.process.kill("SIGKILL");
  }

  function onSignal(signal: NodeJS.Signals): void {
    if (stopping) {
      log.warn({ signal }, "second signal: killing the workers and exiting now");
      killAll();
      process.exit(1);
    }
    log.info({ signal, workers: running().length }, "shutting down: passing the signal on to the workers");
    stop(signal);
  }

  // Round-robin (Node's default) has the primary accept every connection and pass it on; one
  // passed to a worker that dies before taking it stays open in the primary, unanswered, forever.
  // With the workers accepting on the shared socket themselves, the kernel resets it instead.
  if (process.env.NODE_CLUSTER_SCHED_POLICY === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  cluster.on("exit", onExit);
  for (const slot of slots) fork(slot);
}
