/**
 * The gunicorn config file shipped with every gunicorn release (.shipit/gunicorn.conf.py, passed with
 * --config). The user's own ./gunicorn.conf.py, which gunicorn would read by default, is still honoured: it is
 * executed first. It changes two things, both measured on the lab (Debian 12: gunicorn 20.1, uvicorn 0.17):
 *
 * **No request lost at a restart.** uvicorn's `Server.shutdown` stops accepting and at once closes every
 * connection that has no request in progress — including one accepted a moment earlier whose request bytes are
 * already in the socket buffer but not yet parsed. That client sees its connection closed without a response
 * ("socket hang up") during a restart. Here the worker stops accepting first, gives already-accepted
 * connections 0.25 s to deliver their request (they then finish normally, with keep-alive off), and only then
 * runs uvicorn's own shutdown. Unaccepted connections stay queued on the systemd socket for the next workers. A
 * worker with no connection at all skips the wait: nothing can still arrive on it. "No connection" is decided
 * four loop iterations (~8 ms) after the close, not at once: a connection the loop accepted just before is still
 * on its way to uvicorn's set (asyncio makes the transport a task, then calls connection_made), and a worker that
 * looked at once shut down under it, and its request was cancelled (a 500; the zero-downtime bench caught one in
 * 2,132 direct requests).
 *
 * **A stop that takes as long as the work.** `systemctl stop` of an idle service took 360–380 ms, of which almost
 * nothing was work: uvicorn notices the exit flag on a 0.1 s tick and then sleeps 0.1 s after asking its
 * connections to close, also when it has none; gunicorn's master looks for exited workers every 0.1 s; and each
 * process (workers, then master) spent ~75 ms tearing the interpreter down (freeing fastapi's modules object by
 * object) after its last log line. Every restart of a deploy, a revert or a rollback waits for all of it, host by
 * host. So, without changing what either server waits *for*:
 * - uvicorn's polls (`asyncio.sleep` as seen from uvicorn.server) end as soon as what they wait for is true: its
 *   main loop's 0.1 s tick when `handle_exit` sets the exit flag (the tick is a timer that the signal fires early,
 *   not a faster poll: polling every 5 ms, as this did first, cost every idle worker 6% of a core); during the
 *   shutdown, when no connection and no task is left (polled every 5 ms: no event announces it). Waiting for
 *   connections that are still open keeps its full length;
 * - the master's wait for its workers (`time.sleep` in gunicorn.arbiter, while it stops) ends when the last one
 *   has been reaped (its SIGCHLD handler empties `WORKERS`);
 * - a worker or master that exits with status 0 runs the atexit handlers, flushes its logs and leaves with
 *   `os._exit(0)`, unless a non-daemon thread is still running (a normal exit would wait for it: so does this,
 *   by taking the normal path). Any other exit status (a worker that cannot boot: 3, the master's halt on it)
 *   takes the normal path too.
 * Measured: stop 360–380 ms → 25–32 ms (`systemctl stop`, web1, 2 workers).
 *
 * **Process titles that name the app without setproctitle.** The unit passes `--name <app>`, which gunicorn puts in
 * its titles (`gunicorn: master [shop]`, `gunicorn: worker [shop]`) through the `setproctitle` module only; Debian
 * 12 hosts rarely have it (`python3-setproctitle`, not a dependency of `gunicorn`; none of the lab's has it, nor
 * has a virtualenv from server.python unless its requirements list it), and gunicorn then sets no title at all:
 * every process of every app reads `/usr/bin/python3 /usr/bin/gunicorn --config .shipit/gunicorn.conf.py --name
 * shop …`, master and workers alike, the name ~60 characters in. Without the module, gunicorn's `_setproctitle`
 * is replaced by one that writes the same title over the process's own argv, which is what `ps` and `pgrep -f`
 * read from /proc/<pid>/cmdline (setproctitle does so too, after moving environ away to make room): the area's
 * bounds come from /proc/self/stat (proc(5): arg_start, arg_end, fields 48 and 49, Linux ≥ 3.5), the title is cut
 * to fit it and the rest zeroed, so nothing past argv (environ) is touched. The command line gunicorn started with
 * is ~330 bytes, ample for any app name. Workers are forked from the master, so they inherit the replacement.
 *
 * **A stop during the app's startup.** uvicorn's `serve()` returns right after `startup()` when the exit flag was
 * set meanwhile (SIGTERM while a lifespan startup ran), so the servers `startup()` opened at its end accept
 * from the queue and are never shut down: those connections are reset at exit. The worker shuts down as a serving
 * one does (the first point: stop accepting, serve what was accepted, close).
 *
 * Every patch is applied only when the names it wraps exist, and wraps rather than re-implements: a newer
 * gunicorn or uvicorn gets its own shutdown logic, only with shorter idle polls.
 */
export function gunicornConf(): string {
  return `# Written by shipit into every release; see src/build/gunicorn-conf.ts for why.
import asyncio
import atexit
import logging
import os
import sys
import threading

if os.path.exists("gunicorn.conf.py"):
    with open("gunicorn.conf.py") as _user_conf:
        exec(compile(_user_conf.read(), "gunicorn.conf.py", "exec"))

# How often a shortened wait looks again: 5 ms, so a 0.1 s poll ends at most 5 ms after its reason to.
_SHIPIT_POLL = 0.005
# Each of the 4 loop iterations a stopping worker lets pass before it looks at its connections.
_SHIPIT_SETTLE = 0.002


def _shipit_exit_now(error):
    """Leave at once if the process is exiting with status 0 and nothing else would be waited for."""
    if error.code not in (None, 0):
        return
    main = threading.main_thread()
    if not all(t is main or t.daemon for t in threading.enumerate()):
        return
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(0)


def _shipit_patch_arbiter():
    try:
        from gunicorn import arbiter
    except ImportError:
        return
    Arbiter = arbiter.Arbiter
    if getattr(Arbiter, "_shipit_fast_stop", False) or not all(
        hasattr(Arbiter, name) for name in ("stop", "halt", "spawn_worker")
    ):
        return
    real_time = arbiter.time
    stopping = []

    class Time:
        """gunicorn.arbiter's \`time\`: sleep ends early once a stopping master has no worker left."""

        def __getattr__(self, name):
            return getattr(real_time, name)

        def sleep(self, seconds):
            if not stopping:
                return real_time.sleep(seconds)
            end = real_time.monotonic() + seconds
            while getattr(stopping[-1], "WORKERS", True):
                left = end - real_time.monotonic()
                if left <= 0:
                    return
                real_time.sleep(min(left, _SHIPIT_POLL))

    original_stop, original_halt, original_spawn = Arbiter.stop, Arbiter.halt, Arbiter.spawn_worker

    def stop(self, *args, **kwargs):
        stopping.append(self)
        try:
            return original_stop(self, *args, **kwargs)
        finally:
            stopping.pop()

    def halt(self, *args, **kwargs):
        try:
            return original_halt(self, *args, **kwargs)
        except SystemExit as error:
            _shipit_exit_now(error)
            raise

    def spawn_worker(self, *args, **kwargs):
        # The worker's whole life runs inside this call, in the forked child, and ends in SystemExit.
        master = os.getpid()
        try:
            return original_spawn(self, *args, **kwargs)
        except SystemExit as error:
            if os.getpid() != master:
                _shipit_exit_now(error)
            raise

    arbiter.time = Time()
    Arbiter.stop, Arbiter.halt, Arbiter.spawn_worker = stop, halt, spawn_worker
    Arbiter._shipit_fast_stop = True


def _shipit_patch_uvicorn():
    try:
        from uvicorn import server as uvicorn_server
    except ImportError:
        return
    Server = uvicorn_server.Server
    original_shutdown = Server.shutdown
    if getattr(original_shutdown, "_shipit_drain", False):
        return
    real_asyncio = getattr(uvicorn_server, "asyncio", None)
    serving = []

    def drained(server):
        state = getattr(server, "server_state", None)
        return not getattr(state, "connections", True) and not getattr(state, "tasks", True)

    def wake(server):
        waiter = getattr(server, "_shipit_tick", None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    class Asyncio:
        """uvicorn.server's \`asyncio\`: its 0.1 s polls end early once what they wait for is true."""

        def __getattr__(self, name):
            return getattr(real_asyncio, name)

        async def sleep(self, delay, result=None):
            if not serving or delay <= 2 * _SHIPIT_POLL:
                return await real_asyncio.sleep(delay, result)
            server = serving[-1]
            loop = real_asyncio.get_running_loop()
            if not getattr(server, "_shipit_shutting_down", False):
                # Serving: the main loop's tick, waiting for the exit flag. A timer that handle_exit fires early,
                # not a poll: an idle worker wakes no more often than uvicorn's own 10 times a second.
                if getattr(server, "should_exit", False):
                    return result
                waiter = loop.create_future()
                timer = loop.call_later(delay, wake, server)
                server._shipit_tick = waiter
                try:
                    await waiter
                finally:
                    timer.cancel()
                    server._shipit_tick = None
                return result
            # Shutting down: for connections and tasks to end, which no event announces; polled, for as long as
            # the drain lasts.
            end = loop.time() + delay
            while not drained(server):
                left = end - loop.time()
                if left <= 0:
                    break
                await real_asyncio.sleep(min(left, _SHIPIT_POLL))
            return result

    async def shutdown(self, sockets=None):
        # Stop accepting first, and close the servers only once what was accepted has attached: asyncio (3.11)
        # accepts in one loop iteration and builds the transport in a task on the next, whose Server._attach
        # asserts the server is still open. A connection accepted just before Server.close() was dropped that way,
        # unanswered, and reset when the worker exited (strace on the lab: accept4 = 22 after SIGTERM, fd 22 never
        # closed before exit_group; 12 of 22,577 requests over 30 restarts at ~800 req/s).
        loop = asyncio.get_running_loop()
        for server in getattr(self, "servers", []):
            for sock in getattr(server, "sockets", None) or ():
                try:
                    loop.remove_reader(sock.fileno())
                except Exception:
                    pass
        # A connection the loop accepted just before reaches connection_made (and uvicorn's set) a loop iteration
        # or two later: let it arrive before looking, or it would be served by a worker that is gone.
        for _ in range(4):
            await asyncio.sleep(_SHIPIT_SETTLE)
        for server in getattr(self, "servers", []):
            server.close()
        # Only connections already accepted can still deliver a request: with none, there is nothing to wait for.
        if getattr(getattr(self, "server_state", None), "connections", True):
            await asyncio.sleep(0.25)
        self._shipit_shutting_down = True
        await original_shutdown(self, sockets)

    shutdown._shipit_drain = True
    Server.shutdown = shutdown
    if real_asyncio is None or not hasattr(Server, "serve"):
        return
    original_serve = Server.serve

    original_handle_exit = getattr(Server, "handle_exit", None)

    async def serve(self, *args, **kwargs):
        serving.append(self)
        try:
            return await original_serve(self, *args, **kwargs)
        finally:
            serving.remove(self)

    def handle_exit(self, *args, **kwargs):
        original_handle_exit(self, *args, **kwargs)
        waiter = getattr(self, "_shipit_tick", None)
        if waiter is not None:
            # Thread-safe: newer uvicorn calls this from a plain signal handler, outside the loop's callbacks.
            waiter.get_loop().call_soon_threadsafe(wake, self)

    original_startup = getattr(Server, "startup", None)

    async def startup(self, *args, **kwargs):
        await original_startup(self, *args, **kwargs)
        # A stop that came while the app was starting (a restart during a slow lifespan startup: a revert, a
        # rollback, Ctrl-C) set the exit flag; uvicorn's serve() then returns as soon as startup() does, without
        # its shutdown, leaving the servers startup() just opened accepting. What they accepted from the queue
        # meanwhile was reset when the worker exited (3 requests on the lab, with a 3 s startup). Shut down as a
        # serving worker does instead: stop accepting, serve what was accepted, close (and run the app's shutdown).
        if getattr(self, "should_exit", False) and getattr(self, "servers", None):
            await self.shutdown(*args, **kwargs)

    Server.serve = serve
    if original_startup is not None:
        Server.startup = startup
    if original_handle_exit is not None:
        Server.handle_exit = handle_exit
    uvicorn_server.asyncio = Asyncio()


def _shipit_patch_proctitle():
    try:
        import setproctitle  # noqa: F401  gunicorn titles its processes itself
        return
    except ImportError:
        pass
    try:
        from gunicorn import util
    except ImportError:
        return
    if getattr(util._setproctitle, "_shipit_title", False):
        return
    try:
        import ctypes
        with open("/proc/self/stat", "rb") as stat:
            # Field 3 (state) is the first after the ")" that ends comm, which may itself hold spaces or ")".
            fields = stat.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[48 - 3]), int(fields[49 - 3])
    except Exception:
        return
    size = end - start
    if size < 2:
        return

    def _setproctitle(title):
        text = ("gunicorn: %s" % title).encode("utf-8", "replace")[: size - 1]
        ctypes.memmove(start, text + b"\\0" * (size - len(text)), size)

    _setproctitle._shipit_title = True
    util._setproctitle = _setproctitle


_shipit_patch_arbiter()
_shipit_patch_uvicorn()
_shipit_patch_proctitle()
`;
}
