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

/**
 * A bench child's answer to `{cmd: 'profile-start', kind}` (`{type: 'profiling'}` once the
 * profiler runs) and `{cmd: 'profile-stop', file}` (`{type: 'profiled'}` once the profile is
 * written), so a profile covers one measured step and not the set-up. Returns false for any other
 * message.
 */
export function handleProfilerMessage(message: { cmd: string; file?: string; kind?: ProfileKind }): boolean {
  if (message.cmd === 'profile-start') {
    running = message.kind ?? 'cpu';
    profiler.connect();
    const started =
      running === 'cpu'
        ? profiler.post('Profiler.enable').then(() => profiler.post('Profiler.start'))
        : profiler.post('HeapProfiler.enable').then(() =>
            profiler.post('HeapProfiler.startSampling', {
              samplingInterval: HEAP_SAMPLING_INTERVAL,
              includeObjectsCollectedByMajorGC: true,
              includeObjectsCollectedByMinorGC: running === 'allocations',
            }),
          );
    void started.then(() => process.send!({ type: 'profiling' }));
    return true;
  }
  if (message.cmd === 'profile-stop') {
    const stopped = running === 'cpu' ? profiler.post('Profiler.stop') : profiler.post('HeapProfiler.stopSampling');
    void stopped.then(({ profile }) => {
      mkdirSync(dirname(message.file!), { recursive: true });
      writeFileSync(message.file!, JSON.stringify(profile));
      profiler.disconnect();
      process.send!({ type: 'profiled' });
    });
    return true;
  }
  return false;
}
