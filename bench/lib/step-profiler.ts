import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { dirname } from 'node:path';

const profiler = new Session();

/**
 * A bench child's answer to `{cmd: 'profile-start'}` (`{type: 'profiling'}` once the CPU profiler
 * runs) and `{cmd: 'profile-stop', file}` (`{type: 'profiled'}` once the profile is written), so a
 * profile covers one measured step and not the set-up. Returns false for any other message.
 */
export function handleProfilerMessage(message: { cmd: string; file?: string }): boolean {
  if (message.cmd === 'profile-start') {
    profiler.connect();
    void profiler
      .post('Profiler.enable')
      .then(() => profiler.post('Profiler.start'))
      .then(() => process.send!({ type: 'profiling' }));
    return true;
  }
  if (message.cmd === 'profile-stop') {
    void profiler.post('Profiler.stop').then(({ profile }) => {
      mkdirSync(dirname(message.file!), { recursive: true });
      writeFileSync(message.file!, JSON.stringify(profile));
      profiler.disconnect();
      process.send!({ type: 'profiled' });
    });
    return true;
  }
  return false;
}
