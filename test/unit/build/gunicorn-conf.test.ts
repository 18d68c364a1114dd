// The gunicorn preset's config file, run by this machine's python3 against stand-ins for uvicorn.server and
// gunicorn.arbiter that wait the way the real ones do (0.1 s polls). Time is faked: asyncio.sleep, time.sleep
// and the clocks are replaced before the config is read, and what happens is printed with the fake time.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunicornConf } from '../../../src/build/gunicorn-conf.js';

/**
 * Fake time for both asyncio and time. `at(t, fn)` runs fn once the clock reaches t: for time.sleep (the
 * arbiter, synchronous) inside the sleep; for asyncio, `run` drives a discrete-event simulation on a real event
 * loop: it lets every ready callback run, then moves the clock to the next timer. `timers` counts the timers
 * armed (asyncio.sleep and call_later): how often a worker would wake.
 */
const CLOCK = `
import asyncio, itertools, os, sys, threading, time
now = [0.0]
pending = []
calls = []
timers = [0]
_seq = itertools.count()
real_async_sleep = asyncio.sleep
real_get_running_loop = asyncio.get_running_loop

class Handle:
    def __init__(self, entry):
        self.entry = entry
    def cancel(self):
        if self.entry in pending:
            pending.remove(self.entry)

def at(t, fn):
    entry = (t, next(_seq), fn)
    pending.append(entry)
    return Handle(entry)

def fire_next(limit=None):
    if not pending:
        return False
    entry = min(pending, key=lambda e: (e[0], e[1]))
    if limit is not None and entry[0] > limit + 1e-9:
        return False
    pending.remove(entry)
    now[0] = max(now[0], entry[0])
    entry[2]()
    return True

def advance(seconds):
    target = now[0] + seconds
    while fire_next(target):
        pass
    now[0] = target

def log(what):
    calls.append("%s @%.3f" % (what, now[0]))

async def fake_async_sleep(seconds, result=None):
    timers[0] += 1
    done = real_get_running_loop().create_future()
    at(now[0] + seconds, lambda: done.done() or done.set_result(None))
    await done
    return result

class FakeLoop:
    def time(self):
        return now[0]
    def create_future(self):
        return real_get_running_loop().create_future()
    def call_later(self, delay, fn, *args):
        timers[0] += 1
        return at(now[0] + delay, lambda: fn(*args))
    def call_soon_threadsafe(self, fn, *args):
        return real_get_running_loop().call_soon(fn, *args)
    def remove_reader(self, fd):
        import uvicorn.server
        uvicorn.server.LISTENERS[fd].stop_accepting()

def run(coroutine):
    async def main():
        task = asyncio.ensure_future(coroutine)
        while not task.done():
            for _ in range(20):
                await real_async_sleep(0)
            if not task.done() and not fire_next():
                raise RuntimeError("stuck: nothing left to happen")
        return task.result()
    return asyncio.run(main())

asyncio.sleep = fake_async_sleep
asyncio.get_running_loop = lambda: FakeLoop()
time.sleep = advance
time.monotonic = lambda: now[0]
time.time = lambda: now[0]
`;

/** Waits as uvicorn 0.17 does: the exit flag on a 0.1 s tick, then 0.1 s, then its connections and tasks. */
const UVICORN_SERVER = `import asyncio
from __main__ import at, fake_async_sleep, log, now

class State:
    def __init__(self):
        self.connections = set()
        self.tasks = set()

class Sock:
    def fileno(self):
        return 7

LISTENERS = {}

class Listener:
    """An asyncio Server on the worker's socket: accepting stops when the loop stops reading it (remove_reader);
    close() ends the server, after which a connection accepted before but not yet attached is dropped, as asyncio's
    Server._attach does (an assertion, caught and swallowed by _accept_connection2)."""
    def __init__(self, server):
        self.server = server
        self.closed = False
        self.accepting = True
        self.sockets = (Sock(),)
        LISTENERS[7] = self

    def stop_accepting(self):
        self.accepting = False
        log("stop accepting")
        # A connection accepted just before reaches the connections a moment later (connection_made).
        on_its_way = getattr(self.server, "on_its_way", None)
        if on_its_way is not None:
            def made():
                if self.closed:
                    log("accepted connection dropped")
                    return
                log("accepted connection made")
                self.server.server_state.connections.add(object())
            at(now[0] + 0.001, made)
            at(now[0] + on_its_way, lambda: (log("its request answered"), self.server.server_state.connections.clear()))

    def close(self):
        # asyncio's Server.close() stops accepting too.
        if self.accepting:
            self.stop_accepting()
        self.closed = True
        log("close server")

class Server:
    def __init__(self):
        self.should_exit = False
        self.servers = []
        self.server_state = State()
        self.startup_seconds = 0
        self.queued = 0

    def handle_exit(self, sig, frame):
        self.should_exit = True

    async def serve(self, sockets=None):
        # As uvicorn 0.17 (and later) does: no shutdown when the exit flag was set during the startup.
        await self.startup(sockets)
        if self.should_exit:
            return
        while not self.should_exit:
            await asyncio.sleep(0.1)
        await self.shutdown(sockets)

    async def startup(self, sockets=None):
        # The app's lifespan startup, then the servers open on the worker's socket (loop.create_server).
        if self.startup_seconds:
            # The app's own wait (uvicorn waits for the lifespan on an event), not uvicorn.server's asyncio.sleep.
            await fake_async_sleep(self.startup_seconds)
            log("app started")
        self.servers = [Listener(self)]
        # Connections that waited in the socket's queue are accepted as soon as the server opens (asyncio's
        # create_server lets the loop run once): they reach the connections a moment later and are answered after
        # 0.2 s, unless the server was closed before they attached.
        for _ in range(self.queued):
            self.unanswered = getattr(self, "unanswered", 0) + 1
            def made():
                if self.servers[0].closed:
                    log("accepted connection dropped")
                    return
                connection = object()
                self.server_state.connections.add(connection)
                def answered():
                    log("queued request answered")
                    self.unanswered -= 1
                    self.server_state.connections.discard(connection)
                at(now[0] + 0.2, answered)
            at(now[0] + 0.001, made)

    async def shutdown(self, sockets=None):
        log("uvicorn shutdown")
        await asyncio.sleep(0.1)
        while self.server_state.connections:
            await asyncio.sleep(0.1)
        while self.server_state.tasks:
            await asyncio.sleep(0.1)
        log("uvicorn done")
`;

/** Waits as gunicorn 20.1's arbiter does: for its workers in 0.1 s sleeps; a worker's life ends in SystemExit. */
const GUNICORN_ARBITER = `import os, sys, time
from __main__ import log

class Arbiter:
    def __init__(self):
        self.WORKERS = {101: "w1", 102: "w2"}

    def stop(self, graceful=True):
        limit = time.time() + 30
        while self.WORKERS and time.time() < limit:
            time.sleep(0.1)
        log("master stopped")

    def halt(self, reason=None, exit_status=0):
        self.stop()
        sys.exit(exit_status)

    def spawn_worker(self):
        pid = os.fork()
        if pid != 0:
            return pid
        try:
            sys.exit(self.worker_status)
        finally:
            print("worker exiting", flush=True)
`;

const UVICORN_SCENARIO = `${CLOCK}
import json
exec(compile(open("conf.py").read(), "conf.py", "exec"))
from uvicorn.server import Server
server = Server()
scenario = json.loads(sys.argv[1])
for _ in range(scenario.get("connections", 0)):
    server.server_state.connections.add(object())
def sigterm():
    log("SIGTERM")
    if scenario.get("count_timers"):
        calls.append("%d timers before it" % timers[0])
    server.handle_exit(15, None)
at(scenario["exit"], sigterm)
if "connections_close" in scenario:
    at(scenario["connections_close"], lambda: (log("connections closed"), server.server_state.connections.clear()))
if "on_its_way" in scenario:
    server.on_its_way = scenario["on_its_way"]
if "task_until" in scenario:
    server.server_state.tasks.add(object())
    at(scenario["task_until"], lambda: (log("task done"), server.server_state.tasks.clear()))
server.startup_seconds = scenario.get("startup", 0)
server.queued = scenario.get("queued", 0)
run(server.serve())
if getattr(server, "unanswered", 0):
    log("worker exits: %d accepted connection(s) unanswered, reset" % server.unanswered)
print(" | ".join(calls))
`;

const ARBITER_SCENARIO = `${CLOCK}
import atexit, json
real_exit = os._exit
def recorded_exit(code):
    print("os._exit(%d)" % code, flush=True)
    real_exit(code)
os._exit = recorded_exit
exec(compile(open("conf.py").read(), "conf.py", "exec"))
from gunicorn.arbiter import Arbiter
scenario = json.loads(sys.argv[1])
atexit.register(lambda: print("atexit handler ran", flush=True))
if scenario.get("thread"):
    release = threading.Event()
    threading.Thread(target=lambda: (release.wait(), print("thread finished", flush=True))).start()
    threading.Timer(0.2, release.set).start()
arbiter = Arbiter()
if scenario["what"] == "stop":
    at(scenario["reaped"], lambda: (log("last worker reaped"), arbiter.WORKERS.clear()))
    arbiter.stop()
    print(" | ".join(calls), flush=True)
elif scenario["what"] == "halt":
    arbiter.WORKERS.clear()
    try:
        arbiter.halt(exit_status=scenario["status"])
    except SystemExit as e:
        print("SystemExit(%s)" % e.code, flush=True)
        raise
else:
    master = os.getpid()
    try:
        arbiter.worker_status = scenario["status"]
        pid = arbiter.spawn_worker()
    except SystemExit as e:
        print("worker: SystemExit(%s)" % e.code, flush=True)
        raise
    _, status = os.waitpid(pid, 0)
    print("master: worker exited %d" % os.waitstatus_to_exitcode(status), flush=True)
    arbiter.WORKERS.clear()
`;

/** gunicorn/util.py's title function (20.1 to 23), as the arbiter calls it: a no-op without setproctitle. */
const GUNICORN_UTIL = `
try:
    from setproctitle import setproctitle

    def _setproctitle(title):
        setproctitle("gunicorn: %s" % title)
except ImportError:
    def _setproctitle(title):
        pass
`;

/**
 * The master titles itself after the config is read, a forked worker itself (gunicorn's arbiter.py); each prints
 * what /proc/<pid>/cmdline (what ps shows) and /proc/<pid>/environ then hold.
 */
const TITLE_SCENARIO = `
import os, sys
# As on the hosts (and whatever this machine has): no setproctitle module.
sys.modules["setproctitle"] = None
stat = open("/proc/self/stat", "rb").read().rsplit(b")", 1)[1].split()
print("area %d" % (int(stat[46]) - int(stat[45])), flush=True)
exec(open("conf.py").read())
from gunicorn import util
environ = open("/proc/self/environ", "rb").read()
def show(who):
    cmdline = open("/proc/self/cmdline", "rb").read()
    print("%s: %r, environ %s" % (who, cmdline.rstrip(b"\\0").decode(), "intact" if open("/proc/self/environ", "rb").read() == environ else "CHANGED"), flush=True)
util._setproctitle("master [%s]" % APP_NAME)
show("master")
pid = os.fork()
if pid == 0:
    util._setproctitle("worker [%s]" % APP_NAME)
    show("worker")
    os._exit(0)
os.waitpid(pid, 0)
show("master")
`;

describe("the gunicorn preset's config", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipit-gconf-'));
    for (const pkg of ['uvicorn', 'gunicorn']) {
      mkdirSync(join(dir, pkg));
      writeFileSync(join(dir, pkg, '__init__.py'), '');
    }
    writeFileSync(join(dir, 'uvicorn/server.py'), UVICORN_SERVER);
    writeFileSync(join(dir, 'gunicorn/arbiter.py'), GUNICORN_ARBITER);
    writeFileSync(join(dir, 'gunicorn/util.py'), GUNICORN_UTIL);
    writeFileSync(join(dir, 'title-scenario.py'), TITLE_SCENARIO);
    writeFileSync(join(dir, 'conf.py'), gunicornConf());
    writeFileSync(join(dir, 'uvicorn-scenario.py'), UVICORN_SCENARIO);
    writeFileSync(join(dir, 'arbiter-scenario.py'), ARBITER_SCENARIO);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (script: string, scenario: object) => {
    const r = spawnSync('python3', [script, JSON.stringify(scenario)], { cwd: dir, encoding: 'utf8', env: { ...process.env, PYTHONPATH: dir } });
    expect(r.stderr).toBe('');
    return { out: r.stdout.trim(), status: r.status };
  };
  const uvicorn = (scenario: object) => run('uvicorn-scenario.py', scenario).out;

  describe('process titles, on a host without setproctitle (python3-setproctitle)', () => {
    /** The scenario under a command line as long as the one the unit starts gunicorn with, or `argv`. */
    const titles = (name: string, argv: string[] = ['--config', '.shipit/gunicorn.conf.py', '--name', name, '--worker-class', 'uvicorn.workers.UvicornWorker', 'app.main:app']) => {
      const script = TITLE_SCENARIO.replaceAll('APP_NAME', JSON.stringify(name));
      writeFileSync(join(dir, 'title-run.py'), script);
      const r = spawnSync('python3', ['title-run.py', ...argv], { cwd: dir, encoding: 'utf8', env: { ...process.env, PYTHONPATH: dir, SHIPIT_TEST_ENV: 'x'.repeat(64) } });
      expect(r.stderr).toBe('');
      return r.stdout.trim().split('\n');
    };

    it('master and workers name the app and their role, as gunicorn does with setproctitle', () => {
      expect(titles('shop').slice(1)).toEqual([
        "master: 'gunicorn: master [shop]', environ intact",
        "worker: 'gunicorn: worker [shop]', environ intact",
        "master: 'gunicorn: master [shop]', environ intact",
      ]);
    });

    it('a title longer than the command line is cut to fit it, never written over the environment', () => {
      const name = 'n'.repeat(600);
      const [area, master] = titles(name, ['x']);
      const size = Number(/^area (\d+)$/.exec(area!)![1]);
      expect(size).toBeLessThan(600);
      // The area's last byte stays the NUL that ends it.
      expect(master).toBe(`master: '${`gunicorn: master [${name}]`.slice(0, size - 1)}', environ intact`);
    });
  });

  describe("uvicorn's shutdown", () => {
    it('an idle worker: starts at SIGTERM, not on the next 0.1 s tick, and skips the 0.1 s wait for connections it does not have', () => {
      // Unpatched: shutdown at 0.100, done at 0.200.
      expect(uvicorn({ exit: 0.03 })).toBe('SIGTERM @0.030 | stop accepting @0.030 | close server @0.038 | uvicorn shutdown @0.038 | uvicorn done @0.038');
    });

    it('an idle worker wakes 10 times a second, as uvicorn does alone (a 5 ms poll here cost each idle worker 6% of a core)', () => {
      expect(uvicorn({ exit: 1.03, count_timers: true })).toBe(
        'SIGTERM @1.030 | 11 timers before it | stop accepting @1.030 | close server @1.038 | uvicorn shutdown @1.038 | uvicorn done @1.038',
      );
    });

    it('with connections: stops accepting, gives them 0.25 s to deliver their request, then waits until they close (seen within 5 ms), no longer', () => {
      expect(uvicorn({ exit: 0.03, connections: 2, connections_close: 0.4 })).toBe(
        'SIGTERM @0.030 | stop accepting @0.030 | close server @0.038 | uvicorn shutdown @0.288 | connections closed @0.400 | uvicorn done @0.403',
      );
    });

    it('a connection that stays open is waited for, poll after poll', () => {
      expect(uvicorn({ exit: 0.02, connections: 1, connections_close: 2.5 })).toBe(
        'SIGTERM @0.020 | stop accepting @0.020 | close server @0.028 | uvicorn shutdown @0.278 | connections closed @2.500 | uvicorn done @2.503',
      );
    });

    it('a connection the loop accepted just before the close is let in, given its 0.25 s, and waited for', () => {
      // Found by the zero-downtime bench: looked at at once, the worker had no connection, shut down, and the
      // request that came in on it a moment later was cancelled (a 500).
      expect(uvicorn({ exit: 0.03, on_its_way: 0.3 })).toBe(
        'SIGTERM @0.030 | stop accepting @0.030 | accepted connection made @0.031 | close server @0.038 | uvicorn shutdown @0.288 | its request answered @0.330 | uvicorn done @0.333',
      );
    });

    it('a stop during the app\'s startup: the connections its servers accept as they open are served, then it shuts down', () => {
      // Found by a trial: Ctrl-C during a restart, the revert's restart came while the new release's lifespan
      // startup (3 s) ran; uvicorn's serve() returned after startup without a shutdown, and the 3 connections its
      // servers had just accepted from the socket's queue were reset when the worker exited.
      expect(uvicorn({ exit: 0.5, startup: 3, queued: 2 })).toBe(
        'SIGTERM @0.500 | app started @3.000 | stop accepting @3.000 | close server @3.008 | queued request answered @3.201 | queued request answered @3.201 | uvicorn shutdown @3.258 | uvicorn done @3.258',
      );
    });

    it('a stop during the app\'s startup with nothing queued: the servers close at once', () => {
      expect(uvicorn({ exit: 0.5, startup: 3 })).toBe('SIGTERM @0.500 | app started @3.000 | stop accepting @3.000 | close server @3.008 | uvicorn shutdown @3.008 | uvicorn done @3.008');
    });

    it('a background task still running is waited for too', () => {
      expect(uvicorn({ exit: 0.03, task_until: 0.75 })).toBe('SIGTERM @0.030 | stop accepting @0.030 | close server @0.038 | uvicorn shutdown @0.038 | task done @0.750 | uvicorn done @0.753');
    });
  });

  describe("gunicorn's master and workers", () => {
    const arbiter = (scenario: object) => run('arbiter-scenario.py', scenario);

    it('a stopping master sees its last worker gone within 5 ms, not on its next 0.1 s poll', () => {
      expect(arbiter({ what: 'stop', reaped: 0.012 }).out).toBe('last worker reaped @0.012 | master stopped @0.015\natexit handler ran');
      expect(arbiter({ what: 'stop', reaped: 1.5 }).out).toBe('last worker reaped @1.500 | master stopped @1.500\natexit handler ran');
    });

    it('a master halting with status 0 runs the atexit handlers and leaves at once', () => {
      expect(arbiter({ what: 'halt', status: 0 })).toEqual({ out: 'atexit handler ran\nos._exit(0)', status: 0 });
    });

    it('any other status, or a non-daemon thread still running, takes the normal way out', () => {
      expect(arbiter({ what: 'halt', status: 3 })).toEqual({ out: 'SystemExit(3)\natexit handler ran', status: 3 });
      expect(arbiter({ what: 'halt', status: 0, thread: true })).toEqual({ out: 'SystemExit(0)\nthread finished\natexit handler ran', status: 0 });
    });

    it('a worker exiting with status 0 leaves at once after its own exit steps; the master sees status 0', () => {
      expect(arbiter({ what: 'worker', status: 0 })).toEqual({ out: 'worker exiting\natexit handler ran\nos._exit(0)\nmaster: worker exited 0\natexit handler ran', status: 0 });
    });

    it('a worker that cannot boot (status 3) exits the normal way, with its status', () => {
      expect(arbiter({ what: 'worker', status: 3 })).toEqual({ out: 'worker exiting\nworker: SystemExit(3)\natexit handler ran\nmaster: worker exited 3\natexit handler ran', status: 0 });
    });
  });
});
