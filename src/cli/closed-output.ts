/**
 * A reader that goes away (`shipit deploy production | head`, a CI log stream closed early) must not kill a run
 * halfway through moving the fleet. Node reports the closed pipe as an 'error' event (EPIPE) on the stream, and
 * an unhandled one is fatal: a rollback died after switching one host of three, its lock left held and nothing
 * reverted. What is left to print is dropped instead; the run goes on to its end, which the hosts' history and
 * the exit code record. (`shipit logs -f` adds its own handler: there a closed pipe ends the run like Ctrl-C.)
 */
export function dropOutputWhenReaderCloses(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    throw error;
  });
}
