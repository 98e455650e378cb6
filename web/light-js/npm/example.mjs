// node example.mjs http://127.0.0.1:9944 0x<genesis hash> [address] [netuid]
// Prints a verified balance and metagraph, each with the height it was verified at; any failed
// check is an error naming the key and the reason (exit code 1), never a value.
import { load } from './load.mjs';

const [url, checkpoint, address = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', netuid = '1'] =
  process.argv.slice(2);
const json = value => JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
try {
  const LightClient = await load();
  const started = performance.now();
  const client = await LightClient.connect(url, checkpoint);
  const account = await client.account(address);
  const firstMs = Math.round(performance.now() - started);
  console.log(`verified balance of ${address} at #${account.height}: ${account.value.free} rao, nonce ${account.value.nonce} (first verified value after ${firstMs} ms)`);
  const metagraph = await client.metagraph(Number(netuid));
  console.log(`verified metagraph of subnet ${netuid} at #${metagraph.height}: ${json(metagraph.value)}`);
} catch (e) {
  console.error(`not verified: ${e.message}`);
  process.exit(1);
}
