// The JS light client package (web/light-js/pkg, `cargo xtask light-js`) against a real dev
// node: its example script prints a verified balance and metagraph. Then through a tampering
// proxy (altered value, foreign proof, forged certificate, stale head), another header given as
// checkpoint, and against another
// chain every read rejects with an error naming the key or header and the reason, never a value.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const root = resolve(import.meta.dirname, '../..');
const target = process.env.CARGO_TARGET_DIR || join(root, 'target');
const tao = process.env.TAO_BIN || join(target, 'debug/tao');
const pkg = join(root, 'web/light-js/pkg');
const scratch = mkdtempSync(join(tmpdir(), 'tao-light-js-'));
const ALICE = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const children = [];
let failed = false;

const ok = name => console.log(`light-js ok: ${name}`);

/** A dev node (another chain for another genesis time): its RPC URL and genesis hash. */
async function startNode(genesisTime) {
  const node = spawn(tao, ['node', '--dev', '--rpc-addr', '127.0.0.1:0', '--block-time', '100ms', '--json',
    '--genesis-time', genesisTime, '--base-path', join(scratch, genesisTime)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(node);
  const lines = createInterface({ input: node.stdout });
  const started = await new Promise((done, fail) => {
    node.once('exit', code => fail(new Error(`the node exited (${code})`)));
    lines.on('line', line => {
      const event = JSON.parse(line);
      if (event.event === 'started') done(event);
    });
  });
  return { url: started.rpc, genesis: started.genesis_hash };
}

const example = (url, genesis) => new Promise(done => {
  execFile('node', [join(pkg, 'example.mjs'), url, genesis], { timeout: 60_000 },
    (error, stdout, stderr) => done({ code: error ? error.code ?? 1 : 0, stdout, stderr }));
});

/** Asserts `promise` rejects with a message containing every one of `needles`. */
async function rejects(what, promise, needles) {
  let value;
  try {
    value = await promise;
  } catch (e) {
    const missing = needles.filter(n => !e.message.includes(n));
    if (missing.length) throw new Error(`${what}: rejected, but "${e.message}" does not say ${missing.join(', ')}`);
    ok(`${what} is refused: ${e.message.slice(0, 160)}`);
    return;
  }
  throw new Error(`${what}: a value came through a lying node: ${JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `${v}` : v))}`);
}

/** A lying node in front of `upstream`: `tamper.mode` says what it changes. */
async function startProxy(upstream) {
  const tamper = { mode: 'honest' };
  const hex = s => `0x${Buffer.from(s).toString('hex')}`;
  const flip = (text, at) => text.slice(0, at) + (text[at] === '0' ? '1' : '0') + text.slice(at + 1);
  const server = createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    const parsed = JSON.parse(body);
    const calls = Array.isArray(parsed) ? parsed : [parsed];
    const asked = calls.map(c => ({ method: c.method, params: structuredClone(c.params) }));
    for (const call of calls) {
      if (tamper.mode === 'foreign' && call.method === 'state_get') call.params[0] = hex('sys/module/token');
      if (tamper.mode === 'stale' && call.method === 'chain_header' && !call.params?.length) call.params = [1];
    }
    const reply = await (await fetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify(parsed) })).json();
    const answers = Array.isArray(reply) ? reply : [reply];
    answers.forEach((answer, i) => {
      const result = answer.result;
      if (!result) return;
      const { method, params } = asked[i];
      if (tamper.mode === 'alter' && method === 'state_get' && result.value) {
        result.value = flip(result.value, result.value.length - 1);
      }
      if (tamper.mode === 'foreign' && method === 'state_get') result.key = params[0];
      if (tamper.mode === 'forge' && method === 'chain_header' && result.header.height !== 0) {
        result.certificate.encoded = flip(result.certificate.encoded, result.certificate.encoded.length - 20);
      }
    });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(reply));
  });
  await new Promise(done => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${server.address().port}`, tamper, server };
}

/** Syncs until the node offers a head other than the believed one (it makes one every 100 ms). */
async function nextHead(client) {
  const head = client.head;
  for (let i = 0; i < 50; i += 1) {
    const height = await client.sync();
    if (height !== head) return height;
    await new Promise(done => setTimeout(done, 100));
  }
  throw new Error('the node made no new head in 5 s');
}

try {
  // Another chain under the same keys (another genesis time), started alongside.
  const [{ url, genesis }, other] = await Promise.all([startNode('1767225600000'), startNode('1767225600001')]);
  await new Promise(done => setTimeout(done, 500));

  // The example script against an honest node: a verified balance and metagraph.
  const honest = await example(url, genesis);
  if (honest.code !== 0 || !honest.stdout.includes('verified balance of') || !honest.stdout.includes('verified metagraph of subnet 1')) {
    throw new Error(`the example failed against an honest node: ${honest.stdout}${honest.stderr}`);
  }
  process.stdout.write(honest.stdout);
  if (!honest.stdout.includes('"axon":null')) throw new Error(`the metagraph names no axon field: ${honest.stdout}`);
  ok('the example prints a verified balance and metagraph');

  // The other chain: refused before any value.
  const elsewhere = await example(other.url, genesis);
  if (elsewhere.code === 0 || !elsewhere.stderr.includes('not the pinned genesis')) {
    throw new Error(`another chain was not refused: ${elsewhere.stdout}${elsewhere.stderr}`);
  }
  ok(`another chain is refused: ${elsewhere.stderr.trim().slice(0, 160)}`);

  const { load } = await import(join(pkg, 'load.mjs'));
  const LightClient = await load();
  const proxy = await startProxy(url);

  proxy.tamper.mode = 'forge';
  await rejects('a forged certificate', LightClient.connect(proxy.url, genesis), ['certificate']);

  proxy.tamper.mode = 'honest';
  const client = await LightClient.connect(proxy.url, genesis);
  const before = await client.account(ALICE);
  if (!(before.value.free > 0n)) throw new Error('no verified balance through an honest proxy');
  const [subnet, pool] = [await client.subnet(1), await client.pool(1)];
  if (subnet.value.name !== 'example' || !(pool.value.tao > 0n) || subnet.value.hyperparameters.length < 10) {
    throw new Error(`subnet or pool not as the dev chain has them: ${subnet.value.name}, ${pool.value.tao}`);
  }
  ok(`subnet "${subnet.value.name}" with ${subnet.value.hyperparameters.length} hyperparameters and its pool verified at #${pool.height}`);

  // A transfer's receipt, proven by its block's receipts root.
  const env = { ...process.env, TAO_WALLET_PATH: join(scratch, 'wallets'), TAO_PASSWORD: 'pw' };
  const cli = args => JSON.parse(execFileSync(tao, [...args, '--json'], { env, encoding: 'utf8' }));
  cli(['wallet', 'import', '--name', 'alice', '--dev', 'alice']);
  const sent = cli(['transfer', '--wallet', 'alice', '--to', '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    '--amount', '1', '--url', url, '--yes']);
  const receipt = await client.receipt(sent.hash, BigInt(sent.height));
  if (receipt.value?.tx !== sent.hash || receipt.value.fee <= 0n) throw new Error(`no proven receipt: ${JSON.stringify(sent)}`);
  ok(`the transfer's receipt is proven at #${receipt.height}`);

  // A recent certified header as checkpoint (`HEIGHT:0xHASH`, as `tao light` prints it): followed
  // from there; another header at that height is refused.
  const headerAt = async height => (await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'chain_header', params: [height] }) })).json()).result.header.hash;
  const recent = await LightClient.connect(url, `3:${await headerAt(3)}`);
  const fromRecent = await recent.account(ALICE);
  if (!(fromRecent.value.free > 0n) || recent.head < 3n) throw new Error('no verified balance from a header checkpoint');
  ok(`a header checkpoint (#3) gives a verified balance at #${fromRecent.height}`);
  await rejects('another header as checkpoint', LightClient.connect(url, `3:${await headerAt(4)}`), ['not the checkpoint']);

  proxy.tamper.mode = 'alter';
  await rejects('an altered value', client.account(ALICE), ['0x', 'proof does not match']);
  proxy.tamper.mode = 'foreign';
  await rejects('a foreign proof', client.metagraph(1), ['proof does not match']);
  proxy.tamper.mode = 'forge';
  await rejects('a forged certificate on a new head', nextHead(client), ['certificate']);

  // A replayed old head: refused, and once no newer head came for the stale window, every
  // read rejects as stale.
  proxy.tamper.mode = 'stale';
  await rejects('a replayed head', nextHead(client), ['older']);
  const deadline = Date.now() + 20_000;
  let stale;
  while (!stale && Date.now() < deadline) {
    stale = await client.account(ALICE).then(() => undefined, e => e);
    if (!stale) await new Promise(done => setTimeout(done, 250));
  }
  await rejects('a stale head', stale ? Promise.reject(stale) : client.account(ALICE), ['stale', 'older']);
  proxy.server.close();

  // Subnet 1's first epoch (tempo 360 blocks of 100 ms), re-run here with the chain's own code
  // on proven inputs: the same scores the chain stored.
  const direct = await LightClient.connect(url, genesis);
  const epochDeadline = Date.now() + 60_000;
  let check;
  while (!check && Date.now() < epochDeadline) {
    check = await direct.epoch(1).catch(e => {
      if (!e.message.includes('no epoch')) throw e;
    });
    if (!check) await new Promise(done => setTimeout(done, 500));
  }
  if (!check || check.value.mismatches.length || !check.value.code) {
    throw new Error(`the epoch re-run: ${JSON.stringify(check, (_, v) => (typeof v === 'bigint' ? `${v}` : v))}`);
  }
  ok(`subnet 1's epoch of block #${check.value.block} re-runs the same here (${check.value.code}), proven at #${check.height}`);
  console.log('light-js: all checks passed');
} catch (e) {
  failed = true;
  console.error(`light-js FAILED: ${e.message}`);
} finally {
  for (const child of children) child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
