// Loads the package in Node (a browser calls `init()` from tao_light_js.js, which fetches the
// .wasm beside it). Node 20 has a global fetch, all the client needs.
import { readFile } from 'node:fs/promises';
import init, { LightClient } from './tao_light_js.js';

export async function load() {
  await init({ module_or_path: await readFile(new URL('./tao_light_js_bg.wasm', import.meta.url)) });
  return LightClient;
}
