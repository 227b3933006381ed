// Preloaded into every measured Node process of fanout.mjs (NODE_OPTIONS=--import=…), opsbook
// and the bare ssh2 loop alike: notes when the process opened its first TCP connection, so that
// the fixed start-up cost before the first host (Node start, loading the code, the approval,
// inventory and plan, the ledger, the journal) is measured from the outside, the same way for
// both. With BENCH_PROBE_SSH2 (the folder of the ssh2 package the process loads) it also notes
// the algorithms ssh2 negotiated on its first connection, to check that both sides pay for the
// same key exchange, host key, cipher and MAC. Written once, at exit, to BENCH_PROBE_FILE.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';

const file = process.env.BENCH_PROBE_FILE;
const probe = {};
if (file) {
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (...args) {
    net.Socket.prototype.connect = connect;
    probe.firstConnectAt = performance.timeOrigin + performance.now();
    return connect.apply(this, args);
  };
  if (process.env.BENCH_PROBE_SSH2) {
    const { Client } = createRequire(`${process.env.BENCH_PROBE_SSH2}/`)('./');
    const clientConnect = Client.prototype.connect;
    Client.prototype.connect = function (...args) {
      Client.prototype.connect = clientConnect;
      this.once('handshake', (negotiated) => {
        probe.algorithms = negotiated;
      });
      return clientConnect.apply(this, args);
    };
  }
  process.once('exit', () => writeFileSync(file, JSON.stringify(probe)));
}
