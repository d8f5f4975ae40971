/**
 * Whether process `pid` runs on this machine (signal 0 tests without signalling; EPERM means it
 * exists under another user). Temp files, locks and work folders record their writer's pid so that
 * what a killed writer left can be told from what a live one is writing.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
