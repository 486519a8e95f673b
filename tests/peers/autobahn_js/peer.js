// An Autobahn|JS peer for autostrada's router tests (Node; `NODE_PATH` finds autobahn in
// .peers/autobahn-js/node_modules).
//
// Usage: node peer.js CONFIG_JSON, the same config and JSON-line protocol as
// tests/peers/autobahn_py/peer.py: print {"event": NAME, ...} lines on stdout, read JSON
// commands on stdin, bytes as {"$bytes": BASE64}; the last line is {"event": "done"} (exit
// 0) or {"event": "failed", "error": ...} (exit 1). Autobahn|JS logs to stderr.
//
// Each scenario's steps and events are described next to the test that runs it, in
// tests/peers/test_peers.py.

'use strict';

const readline = require('readline');
const autobahn = require('autobahn');

const SCENARIOS = {};

// --- values on the JSON lines ----------------------------------------------------------

function encode(value) {
  if (value instanceof Uint8Array) {
    return { $bytes: Buffer.from(value).toString('base64') };
  }
  if (Array.isArray(value)) {
    return value.map(encode);
  }
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = encode(item);
    }
    return out;
  }
  return value === undefined ? null : value;
}

function decode(value) {
  if (Array.isArray(value)) {
    return value.map(decode);
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$bytes') {
      return Buffer.from(value.$bytes, 'base64');
    }
    const out = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = decode(item);
    }
    return out;
  }
  return value;
}

function resultOf(value) {
  if (value instanceof autobahn.Result) {
    return { args: encode(value.args), kwargs: encode(value.kwargs) };
  }
  return { args: encode([value]), kwargs: {} };
}

function errorOf(error) {
  if (error instanceof autobahn.Error) {
    return { error: error.error, args: encode(error.args), kwargs: encode(error.kwargs) };
  }
  return { exception: String(error && error.name), text: String(error) };
}

function emit(event, data = {}) {
  process.stdout.write(JSON.stringify({ event, ...encode(data) }) + '\n');
}

function withTimeout(promise, seconds, what) {
  let timer;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// --- sessions ----------------------------------------------------------------------------

class JoinFailed extends Error {
  constructor(reason, message) {
    super(`${reason}: ${message}`);
    this.reason = reason;
    this.detail = message;
  }
}

class Peer {
  constructor(connection, session, details) {
    this.connection = connection;
    this.session = session;
    this.details = details;
    this.closed = null; // a promise, set by join()
  }

  get id() {
    return this.session.id;
  }

  describe() {
    const d = this.details;
    return {
      session: this.session.id,
      realm: d.realm === undefined ? this.session.realm : d.realm,
      authid: d.authid,
      authrole: d.authrole,
      authmethod: d.authmethod,
      authprovider: d.authprovider,
      authextra: d.authextra === undefined ? null : d.authextra,
      serializer: d.transport.protocol.split('.')[2],
    };
  }

  async leave() {
    if (this.connection.isOpen) {
      this.connection.close();
    }
    await withTimeout(this.closed, 10, 'leave');
  }
}

class Context {
  constructor(config) {
    this.config = config;
    this.creds = config.creds || {};
    this.params = decode(config.params || {});
    this.peers = [];
    this._lines = [];
    this._waiters = [];
    this._input = null;
  }

  command(seconds = 20) {
    if (this._input === null) {
      this._input = readline.createInterface({ input: process.stdin });
      this._input.on('line', (line) => {
        const waiter = this._waiters.shift();
        if (waiter) {
          waiter(line);
        } else {
          this._lines.push(line);
        }
      });
    }
    const next = this._lines.length
      ? Promise.resolve(this._lines.shift())
      : new Promise((resolve) => this._waiters.push(resolve));
    return withTimeout(next, seconds, 'command').then((line) => decode(JSON.parse(line)));
  }

  transport(kind = this.config.transport, serializer = this.config.serializer) {
    if (kind === 'rawsocket') {
      // Autobahn|JS frames RawSocket with JSON only; it takes host and port, not a URL.
      const url = new URL(this.config.rs_url.replace(/^rs:/, 'http:'));
      return { type: 'rawsocket', host: url.hostname, port: Number(url.port) };
    }
    const transport = { type: 'websocket', url: this.config.ws_url };
    const serializers = {
      json: autobahn.serializer.JSONSerializer,
      msgpack: autobahn.serializer.MsgpackSerializer,
      cbor: autobahn.serializer.CBORSerializer,
    };
    if (serializer) {
      transport.serializers = [new serializers[serializer]()];
    }
    return transport;
  }

  // Open a Connection and wait until its session joined; reject with JoinFailed when
  // the router refuses it.
  join(auth = {}, { realm = this.config.realm, transport = this.transport() } = {}) {
    return new Promise((resolve, reject) => {
      let opened = false;
      let peer = null;
      let closedResolve;
      const closed = new Promise((res) => {
        closedResolve = res;
      });
      const connection = new autobahn.Connection({
        realm,
        transports: [transport],
        max_retries: 0,
        retry_if_unreachable: false,
        ...auth,
      });
      connection.onopen = (session, details) => {
        opened = true;
        peer = new Peer(connection, session, details);
        peer.closed = closed;
        this.peers.push(peer);
        resolve(peer);
      };
      connection.onclose = (reason, details) => {
        closedResolve({ reason, details });
        if (!opened) {
          reject(new JoinFailed(details.reason || reason, details.message));
        }
        return true; // no reconnection
      };
      connection.open();
    });
  }

  async close() {
    for (const peer of this.peers) {
      if (peer.connection.isOpen) {
        await peer.leave();
      }
    }
  }
}

function scenario(name, fn) {
  SCENARIOS[name] = fn;
}

function call(session, procedure, args, kwargs, options) {
  // Autobahn|JS gives a when.js promise; progress handlers go with then(ok, err, progress).
  return session.call(procedure, args, kwargs, options);
}

// --- RPC ---------------------------------------------------------------------------------

scenario('basic', async (ctx) => {
  const peer = await ctx.join();
  const s = peer.session;
  await s.register('peer.echo', (args, kwargs) => new autobahn.Result(args, kwargs));
  await s.subscribe('peer.topic', (args, kwargs, details) => {
    emit('event', { args, kwargs, topic: details.topic, publisher: details.publisher });
  });
  emit('ready', peer.describe());
  const cmd = await ctx.command();
  const result = await call(s, 'test.echo', cmd.args, cmd.kwargs);
  const publication = await s.publish('test.topic', cmd.args, cmd.kwargs, { acknowledge: true });
  emit('called', { result: resultOf(result), publication: publication.id });
  await peer.leave();
});

scenario('errors', async (ctx) => {
  const peer = await ctx.join();
  const s = peer.session;
  await s.register('peer.fail', () => {
    throw new autobahn.Error('com.peer.error.custom', ['peer says no', 7], { detail: { k: 'v' } });
  });
  await s.register('peer.crash', () => {
    throw new TypeError('kaput');
  });
  const seen = {};
  for (const [name, procedure] of [
    ['custom', 'test.fail'],
    ['runtime', 'test.crash'],
    ['missing', 'com.nobody.here'],
    ['denied', 'com.denied.proc'],
  ]) {
    try {
      seen[name] = { unexpected_result: resultOf(await call(s, procedure, ['x'], { n: 1 })) };
    } catch (error) {
      seen[name] = errorOf(error);
    }
  }
  emit('ready', { errors: seen });
  await ctx.command();
  await peer.leave();
});

scenario('progress', async (ctx) => {
  const peer = await ctx.join();
  const s = peer.session;
  await s.register('peer.progress', (args, kwargs, details) => {
    const count = args[0];
    for (let index = 0; index < count; index++) {
      details.progress([index], { of: count });
    }
    return 'peer-final';
  });
  const updates = [];
  const result = await call(s, 'test.progress', [3], {}, { receive_progress: true }).then(
    (value) => value,
    (error) => {
      throw error;
    },
    (update) => updates.push(resultOf(update)),
  );
  emit('ready', { updates, result: resultOf(result) });
  await ctx.command();
  await peer.leave();
});

scenario('cancel', async (ctx) => {
  const peer = await ctx.join();
  const s = peer.session;
  await s.register('peer.slow', () => {
    emit('invoked'); // Autobahn|JS callees never hear of a cancel (no INTERRUPT handling)
    return new Promise(() => {});
  });
  await s.register('peer.ping', () => 'pong');
  emit('ready');
  const pending = call(s, 'test.slow');
  emit('calling');
  await ctx.command();
  // mode "kill": the router answers once the callee has. With skip/killnowait (or no
  // mode) Autobahn|JS drops the call at once, then takes the router's ERROR for the
  // call for a protocol violation and closes the connection.
  pending.cancel({ mode: 'kill' });
  let outcome;
  try {
    outcome = { unexpected_result: resultOf(await pending) };
  } catch (error) {
    outcome = errorOf(error);
  }
  const ping = await call(s, 'test.ping');
  emit('canceled', { outcome, ping });
  await ctx.command();
  await peer.leave();
});

scenario('timeout', async (ctx) => {
  const peer = await ctx.join();
  const s = peer.session;
  await s.register('peer.slow', () => {
    emit('invoked');
    return new Promise(() => {});
  });
  let outcome;
  try {
    outcome = { unexpected_result: resultOf(await call(s, 'test.slow', [], {}, { timeout: ctx.params.timeout_ms })) };
  } catch (error) {
    outcome = errorOf(error);
  }
  emit('ready', { outcome });
  await ctx.command();
  await peer.leave();
});

scenario('patterns', async (ctx) => {
  const peer = await ctx.join();
  const s = peer.session;
  await s.register(
    'com.peer.pfx.',
    (args, kwargs, details) => new autobahn.Result([details.procedure, 'prefix']),
    { match: 'prefix' },
  );
  await s.register(
    'com.peer..wild',
    (args, kwargs, details) => new autobahn.Result([details.procedure, 'wildcard']),
    { match: 'wildcard' },
  );
  const onEvent = (args, kwargs, details) => emit('event', { args, topic: details.topic });
  await s.subscribe('com.peer.tpfx.', onEvent, { match: 'prefix' });
  await s.subscribe('com.peer..twild', onEvent, { match: 'wildcard' });
  emit('ready');
  await ctx.command();
  emit('called', { result: resultOf(await call(s, 'test.pfx.deep.name', [1])) });
  await ctx.command();
  await peer.leave();
});

scenario('shared', async (ctx) => {
  const first = await ctx.join();
  const second = await ctx.join();
  const third = await ctx.join();
  await first.session.register('com.peer.shared', () => 'first', { invoke: 'roundrobin' });
  await second.session.register('com.peer.shared', () => 'second', { invoke: 'roundrobin' });
  let conflict;
  try {
    await third.session.register('com.peer.shared', () => 'third', { invoke: 'random' });
    conflict = { unexpected: 'registered' };
  } catch (error) {
    conflict = errorOf(error);
  }
  emit('ready', { conflict });
  await ctx.command();
  await first.leave();
  emit('first_left');
  await ctx.command();
  await second.leave();
  await third.leave();
});

scenario('disclosure', async (ctx) => {
  const peer = await ctx.join();
  const s = peer.session;
  await s.register('peer.who', (args, kwargs, details) => ({
    caller: details.caller === undefined ? null : details.caller,
    caller_authid: details.caller_authid === undefined ? null : details.caller_authid,
    caller_authrole: details.caller_authrole === undefined ? null : details.caller_authrole,
  }));
  await s.subscribe('peer.whotopic', (args, kwargs, details) => {
    emit('event', {
      publisher: details.publisher,
      publisher_authid: details.publisher_authid,
      publisher_authrole: details.publisher_authrole,
    });
  });
  emit('ready', peer.describe());
  await ctx.command();
  const ack = { acknowledge: true };
  const seenByTest = await call(s, 'test.who');
  await s.publish('test.whotopic', [], {}, ack);
  const backend = await ctx.join(cryptosignAuth(ctx.creds, ctx.creds.cryptosign_seed));
  const seenBackend = await call(backend.session, 'test.who');
  await backend.session.publish('test.whotopic', [], {}, ack);
  emit('called', { anonymous: seenByTest, backend: seenBackend, backend_session: backend.id });
  await ctx.command();
  await backend.leave();
  await peer.leave();
});

// --- PubSub --------------------------------------------------------------------------------

scenario('exclusion', async (ctx) => {
  const peer = await ctx.join();
  const s = peer.session;
  let gotFirst;
  const first = new Promise((resolve) => {
    gotFirst = resolve;
  });
  await s.subscribe('peer.excl', (args) => gotFirst(args));
  emit('ready');
  await ctx.command();
  await s.publish('peer.excl', ['excluded'], {}, { acknowledge: true });
  await s.publish('peer.excl', ['included'], {}, { acknowledge: true, exclude_me: false });
  emit('received', { first: await withTimeout(first, 10, 'own event') });
  await peer.leave();
});

scenario('blackwhite', async (ctx) => {
  const peer = await ctx.join();
  const s = peer.session;
  emit('ready');
  const ids = (await ctx.command()).sessions;
  const c = ctx.creds;
  const filters = [
    ['exclude', { exclude: [ids.ticket] }],
    ['eligible', { eligible: [ids.wampcra] }],
    ['exclude_authid', { exclude_authid: [c.cra_authid] }],
    ['eligible_authid', { eligible_authid: [c.ticket_authid] }],
    ['exclude_authrole', { exclude_authrole: ['user'] }],
    ['eligible_authrole', { eligible_authrole: ['backend'] }],
    ['eligible_and_exclude', { eligible: Object.values(ids), exclude: [ids.wampcra] }],
    ['end', {}],
  ];
  for (const [name, options] of filters) {
    await s.publish('com.test.bw', [name], {}, { acknowledge: true, ...options });
  }
  emit('published', { names: filters.map(([name]) => name) });
  await peer.leave();
});

scenario('retention', async (ctx) => {
  const peer = await ctx.join();
  const s = peer.session;
  await s.publish('peer.retained', ['kept', 1], { note: 'retained by the peer' }, { acknowledge: true, retain: true });
  emit('ready');
  await ctx.command();
  let got;
  const event = new Promise((resolve) => {
    got = resolve;
  });
  await s.subscribe(
    'test.retained',
    (args, kwargs, details) => got({ args, kwargs, retained: details.retained }),
    { get_retained: true },
  );
  emit('event', await withTimeout(event, 10, 'retained event'));
  await peer.leave();
});

// --- meta API and authentication -----------------------------------------------------------

const META_TOPICS = [
  'wamp.session.on_join',
  'wamp.session.on_leave',
  'wamp.registration.on_create',
  'wamp.registration.on_register',
  'wamp.subscription.on_create',
  'wamp.subscription.on_subscribe',
];

scenario('hello', async (ctx) => {
  const peer = await ctx.join();
  emit('ready', peer.describe());
  await peer.leave();
});

scenario('meta', async (ctx) => {
  const peer = await ctx.join();
  const s = peer.session;
  for (const topic of META_TOPICS) {
    await s.subscribe(topic, (args) => emit('meta', { topic, args }));
  }
  emit('ready', peer.describe());
  const other = (await ctx.command()).session;
  const answers = {};
  const ask = async (name, procedure, ...args) => {
    try {
      answers[name] = await call(s, procedure, args);
    } catch (error) {
      answers[name] = errorOf(error);
    }
    return answers[name];
  };
  await ask('count', 'wamp.session.count');
  await ask('list', 'wamp.session.list');
  await ask('get', 'wamp.session.get', other);
  await ask('get_missing', 'wamp.session.get', 1);
  const registration = await ask('reg_lookup', 'wamp.registration.lookup', 'test.meta.proc');
  await ask('reg_match', 'wamp.registration.match', 'test.meta.proc');
  await ask('reg_get', 'wamp.registration.get', registration);
  await ask('reg_callees', 'wamp.registration.list_callees', registration);
  const subscription = await ask('sub_lookup', 'wamp.subscription.lookup', 'test.meta.topic');
  await ask('sub_match', 'wamp.subscription.match', 'test.meta.topic');
  await ask('sub_get', 'wamp.subscription.get', subscription);
  await ask('sub_subscribers', 'wamp.subscription.list_subscribers', subscription);
  await ask('sub_count', 'wamp.subscription.count_subscribers', subscription);
  emit('answers', answers);
  await ctx.command();
  await peer.leave();
});

function cryptosignAuth(c, seedHex) {
  const key = autobahn.nacl.sign.keyPair.fromSeed(autobahn.util.htob(seedHex));
  return {
    authmethods: ['cryptosign'],
    authid: c.cryptosign_authid,
    authextra: { pubkey: autobahn.auth_cryptosign.public_key(key) },
    onchallenge: (session, method, extra) => autobahn.auth_cryptosign.sign_challenge(key, extra),
  };
}

function wampcraAuth(authid, secret) {
  return {
    authmethods: ['wampcra'],
    authid,
    onchallenge: (session, method, extra) => {
      const key = extra.salt
        ? autobahn.auth_cra.derive_key(secret, extra.salt, extra.iterations, extra.keylen)
        : secret;
      return autobahn.auth_cra.sign(key, extra.challenge);
    },
  };
}

function ticketAuth(authid, ticket) {
  return { authmethods: ['ticket'], authid, onchallenge: () => ticket };
}

// [good auth, bad auth, realm of the bad one]
function authCases(c, method) {
  switch (method) {
    case 'anonymous':
      return [{}, {}, 'com.no.such.realm'];
    case 'ticket':
      return [ticketAuth(c.ticket_authid, c.ticket), ticketAuth(c.ticket_authid, 'wrong'), 'realm1'];
    case 'wampcra':
      return [wampcraAuth(c.cra_authid, c.cra_secret), wampcraAuth(c.cra_authid, 'wrong'), 'realm1'];
    case 'wampcra_salted':
      return [
        wampcraAuth(c.cra_salted_authid, c.cra_salted_password),
        wampcraAuth(c.cra_salted_authid, 'wrong'),
        'realm1',
      ];
    case 'cryptosign': {
      const other = Buffer.from(autobahn.nacl.randomBytes(32)).toString('hex');
      return [cryptosignAuth(c, c.cryptosign_seed), cryptosignAuth(c, other), 'realm1'];
    }
    default:
      throw new Error(`Autobahn|JS has no ${method} authentication`);
  }
}

scenario('auth', async (ctx) => {
  const [good, bad, badRealm] = authCases(ctx.creds, ctx.params.method);
  const peer = await ctx.join(good);
  emit('joined', peer.describe());
  await peer.leave();
  try {
    const intruder = await ctx.join(bad, { realm: badRealm });
    emit('joined_unexpectedly', intruder.describe());
    await intruder.leave();
  } catch (error) {
    if (!(error instanceof JoinFailed)) {
      throw error;
    }
    emit('refused', { reason: error.reason, message: error.detail });
  }
});

// --- main ------------------------------------------------------------------------------------

async function main() {
  const config = JSON.parse(process.argv[2]);
  const ctx = new Context(config);
  try {
    const fn = SCENARIOS[config.scenario];
    if (!fn) {
      throw new Error(`no scenario ${config.scenario}`);
    }
    await withTimeout(fn(ctx), config.timeout || 60, config.scenario);
    await ctx.close();
  } catch (error) {
    console.error(error && error.stack ? error.stack : error);
    emit('failed', { error: String(error && error.message ? error.message : error) });
    process.exit(1);
  }
  emit('done', { notes: [] });
  process.exit(0);
}

process.on('unhandledRejection', (reason) => {
  console.error('unhandled rejection:', reason);
});

main();
