import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { dirname } from 'node:path';

const profiler = new Session();

/**
 * What a step's profile records:
 * - `cpu`: a CPU profile (`.cpuprofile`).
 * - `survivors`: a sampling heap profile (`.heapprofile`) of the objects that outlived a scavenge
 *   (still alive at the end, or collected by a mark-compact): the bytes a tick path promotes to the
 *   old generation, by the code that allocated them.
 * - `allocations`: the same with every sampled allocation, however short its life.
 */
export type ProfileKind = 'cpu' | 'survivors' | 'allocations';

export function profileKind(text: string | undefined): ProfileKind {
  const kind = text ?? 'cpu';
  if (kind !== 'cpu' && kind !== 'survivors' && kind !== 'allocations') throw new Error(`BENCH_PROFILE_KIND must be cpu, survivors or allocations, not ${kind}`);
  return kind;
}

/** Bytes between heap samples: fine enough for sites of a few percent, cheap enough not to move the step. */
const HEAP_SAMPLING_INTERVAL = 16 * 1024;

let running: ProfileKind = 'cpu';

/** Starts recording a profile of `kind` in this process. */
export async function startProfile(kind: ProfileKind): Promise<void> {
  running = kind;
  profiler.connect();
  if (kind === 'cpu') {
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
    return;
  }
  await profiler.post('HeapProfiler.enable');
  await profiler.post('HeapProfiler.startSampling', {
    samplingInterval: HEAP_SAMPLING_INTERVAL,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: kind === 'allocations',
  });
}

/** Stops the recording `startProfile` began and writes it to `file`. */
export async function stopProfile(file: string): Promise<void> {
  const { profile } = running === 'cpu' ? await profiler.post('Profiler.stop') : await profiler.post('HeapProfiler.stopSampling');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(profile));
  profiler.disconnect();
}

/**
 * A bench child's answer to `{cmd: 'profile-start', kind}` (`{type: 'profiling'}` once the
 * profiler runs) and `{cmd: 'profile-stop', file}` (`{type: 'profiled'}` once the profile is
 * written), so a profile covers one measured step and not the set-up. Returns false for any other
 * message.
 */
export function handleProfilerMessage(message: { cmd: string; file?: string; kind?: ProfileKind }): boolean {
  if (message.cmd === 'profile-start') {
    void startProfile(message.kind ?? 'cpu').then(() => process.send!({ type: 'profiling' }));
    return true;
  }
  if (message.cmd === 'profile-stop') {
    void stopProfile(message.file!).then(() => process.send!({ type: 'profiled' }));
    return true;
  }
  return false;
}
