// shipitjs (shipit-cli + shipit-deploy from npm) set up for the same deploy as the other tools: its own
// deploy flow (copy the previous release on the host, rsync the workspace over it, switch `current` on every
// host, clean old releases), plus a restart task that restarts one host at a time and polls GET /readyz on
// the host every 200 ms until it answers 200. Configured from the environment by the bench:
// BENCH_APP BENCH_PORT BENCH_HOSTS ("a b c") BENCH_ARTIFACT (a git work tree: shipit-deploy records its
// revision) BENCH_KEY BENCH_KNOWN_HOSTS BENCH_READY_TIMEOUT (s).
const deploy = require('shipit-deploy');

module.exports = (shipit) => {
  deploy(shipit);
  const env = process.env;
  shipit.initConfig({
    default: {
      deployTo: `/srv/${env.BENCH_APP}`,
      workspace: env.BENCH_ARTIFACT,
      keepWorkspace: true,
      shallowClone: false,
      keepReleases: 5,
      ignores: ['.git', '__pycache__'],
      branch: 'HEAD',
      key: env.BENCH_KEY,
      strict: 'yes',
    },
    bench: {
      // ssh-pool takes extra ssh options per server (for its ssh commands and for rsync's --rsh alike).
      servers: env.BENCH_HOSTS.split(' ').map((host) => ({
        user: 'deploy',
        host,
        extraSshOptions: { UserKnownHostsFile: env.BENCH_KNOWN_HOSTS, IdentitiesOnly: 'yes', BatchMode: 'yes', LogLevel: 'ERROR' },
      })),
    },
  });

  const restartAndWait = [
    `sudo -n systemctl restart ${env.BENCH_APP}.service || exit 1`,
    `deadline=$(($(date +%s) + ${env.BENCH_READY_TIMEOUT}))`,
    `until curl -fso /dev/null --max-time 2 http://127.0.0.1:${env.BENCH_PORT}/readyz; do [ $(date +%s) -lt $deadline ] || exit 7; sleep 0.2; done`,
  ].join('; ');

  shipit.blTask('restart', async () => {
    for (const connection of shipit.pool.connections) {
      await connection.run(restartAndWait, { tty: false });
    }
  });
  shipit.on('published', () => shipit.start('restart'));
};
