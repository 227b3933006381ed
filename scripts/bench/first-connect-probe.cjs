// Preloaded into every measured Node process of fanout.mjs (NODE_OPTIONS=--require=…), opsbook
// and the bare ssh2 loop alike: notes when the process opened its first TCP connection, so that
// the fixed start-up cost before the first host (Node start, loading the code, the approval,
// inventory and plan, the ledger, the journal) is measured from the outside, the same way for
// both. With BENCH_PROBE_ALGORITHMS=1 it also notes the algorithms the first connection
// negotiated, to check that both sides pay for the same key exchange, host key, cipher and MAC.
// They are read off the wire, not from an ssh2 module (opsbook's run bundle holds its own copy of
// ssh2's code): both KEXINIT messages travel in clear, and the choice follows from them (RFC 4253
// §7.1: per list, the client's first name the server also offers). Written once, at exit, to
// BENCH_PROBE_FILE. CommonJS, preloaded with --require: an ES module preloaded with --import made
// Node set up its ES module loader in opsbook, whose bin.js is CommonJS and never needs it
// (~4 ms of CPU that only the measurement added; the bare loop, an ES module, has it anyway).
const { writeFileSync } = require('node:fs');
const net = require('node:net');

const file = process.env.BENCH_PROBE_FILE;
const probe = {};
if (file) {
  const watch = process.env.BENCH_PROBE_ALGORITHMS === '1' ? watchKexInit() : undefined;
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (...args) {
    net.Socket.prototype.connect = connect;
    probe.firstConnectAt = performance.timeOrigin + performance.now();
    watch?.(this);
    return connect.apply(this, args);
  };
  process.once('exit', () => writeFileSync(file, JSON.stringify(probe)));
}

/**
 * Watches the bytes written to and read from sockets until the first connection's KEXINITs went
 * by, then notes `probe.algorithms`; returns the function that names that connection's socket.
 * Writes are collected from before the connect: ssh2 writes its identification and KEXINIT to a
 * socket still connecting.
 */
function watchKexInit() {
  const readers = new WeakMap();
  let first;
  const of = (socket) => {
    if (!readers.has(socket))
      readers.set(socket, { sent: kexInitReader(), received: kexInitReader() });
    return readers.get(socket);
  };
  const settle = () => {
    if (probe.algorithms || !first) return;
    const { sent, received } = of(first);
    if (sent.lists && received.lists) probe.algorithms = negotiate(sent.lists, received.lists);
  };
  const write = net.Socket.prototype.write;
  net.Socket.prototype.write = function (chunk, ...rest) {
    if (!probe.algorithms && (!first || first === this) && typeof chunk !== 'string') {
      const { sent } = of(this);
      if (!sent.lists) sent.add(chunk);
      settle();
    }
    return write.call(this, chunk, ...rest);
  };
  // emit, not a 'data' listener: a listener would switch the socket to flowing mode itself.
  const emit = net.Socket.prototype.emit;
  net.Socket.prototype.emit = function (event, ...args) {
    if (event === 'data' && !probe.algorithms && first === this) {
      const { received } = of(this);
      if (!received.lists) received.add(args[0]);
      settle();
    }
    return emit.call(this, event, ...args);
  };
  return (socket) => {
    first = socket;
  };
}

/** Collects one direction's bytes until its KEXINIT: the identification line, then packets. */
function kexInitReader() {
  let buf = Buffer.alloc(0);
  let pastIdent = false;
  const reader = {
    lists: undefined,
    add(chunk) {
      buf = Buffer.concat([buf, Buffer.from(chunk)]);
      if (!pastIdent) {
        // Lines before "SSH-" may come first (RFC 4253 §4.2); the identification ends in CR LF.
        for (let end = buf.indexOf('\r\n'); end >= 0; end = buf.indexOf('\r\n')) {
          const line = buf.subarray(0, end).toString('latin1');
          buf = buf.subarray(end + 2);
          if (line.startsWith('SSH-')) {
            pastIdent = true;
            break;
          }
        }
        if (!pastIdent) return;
      }
      // Unencrypted binary packets: uint32 length, byte padding length, payload, padding.
      while (buf.length >= 5 && !reader.lists) {
        const length = buf.readUInt32BE(0);
        if (buf.length < 4 + length) return;
        const payload = buf.subarray(5, 4 + length - buf[4]);
        buf = buf.subarray(4 + length);
        if (payload[0] === 20) reader.lists = nameLists(payload);
      }
    },
  };
  return reader;
}

/** KEXINIT: byte 20, a 16-byte cookie, then ten name-lists (uint32 length, comma-separated). */
function nameLists(payload) {
  const lists = [];
  let at = 17;
  for (let i = 0; i < 10; i++) {
    const n = payload.readUInt32BE(at);
    const text = payload.subarray(at + 4, at + 4 + n).toString('latin1');
    lists.push(text === '' ? [] : text.split(','));
    at += 4 + n;
  }
  return lists;
}

/** The algorithms chosen, in the shape of ssh2's 'handshake' event. */
function negotiate(client, server) {
  const pick = (i) => client[i].find((name) => server[i].includes(name)) ?? '';
  // An AEAD cipher brings its own integrity: no MAC is negotiated for that direction.
  const aead = (cipher) => /gcm@openssh\.com$|^chacha20-poly1305@openssh\.com$/.test(cipher);
  const direction = (cipherAt, macAt, compressAt, langAt) => {
    const cipher = pick(cipherAt);
    return {
      cipher,
      mac: aead(cipher) ? '' : pick(macAt),
      compress: pick(compressAt),
      lang: pick(langAt),
    };
  };
  return {
    kex: pick(0),
    serverHostKey: pick(1),
    cs: direction(2, 4, 6, 8),
    sc: direction(3, 5, 7, 9),
  };
}
