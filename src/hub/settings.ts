/**
 * Where the hub is, where its cache lives and which token to send: the environment conventions of the
 * Python `huggingface_hub` library, so a machine already set up for it (a mirror in HF_ENDPOINT, a token in
 * HF_TOKEN, a cache on a big disk in HF_HOME) works for `biomedclip download` unchanged, and the two tools
 * share one cache instead of storing the 784 MB checkpoint twice.
 *
 * Everything here takes the environment as an argument (default `process.env`) so tests can run with a
 * private HF_HOME and a fake hub without touching the real ones.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../errors.js';

export type Env = Record<string, string | undefined>;

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface HubSettings {
  /** Base URL without a trailing slash, e.g. https://huggingface.co or a mirror. */
  endpoint: string;
  /** The hub cache: `models--org--name/{blobs,snapshots,refs}` folders live here. */
  hubCache: string;
  /** `$HF_HOME`: biomedclip-ts keeps converted models beside (not inside) the hub cache. */
  hfHome: string;
  /** Sent as `Authorization: Bearer` to the endpoint's host only; undefined for anonymous access. */
  token: string | undefined;
}

/** `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface` (huggingface_hub's order). */
export function hfHome(env: Env = process.env): string {
  const explicit = nonEmpty(env.HF_HOME);
  if (explicit !== undefined) return path.resolve(expandHome(explicit, env));
  const xdg = nonEmpty(env.XDG_CACHE_HOME);
  const base = xdg !== undefined ? expandHome(xdg, env) : path.join(homeDir(env), '.cache');
  return path.resolve(base, 'huggingface');
}

/** `$HF_HUB_CACHE` (older name `$HUGGINGFACE_HUB_CACHE`), else `$HF_HOME/hub`. */
export function hubCacheDir(env: Env = process.env): string {
  const explicit = nonEmpty(env.HF_HUB_CACHE) ?? nonEmpty(env.HUGGINGFACE_HUB_CACHE);
  if (explicit !== undefined) return path.resolve(expandHome(explicit, env));
  return path.join(hfHome(env), 'hub');
}

/**
 * `--endpoint`, else `$HF_ENDPOINT`, else huggingface.co. Only http(s) URLs are accepted; a path prefix is
 * kept (some mirrors serve the hub under `/hf`), a trailing slash is dropped so URLs join cleanly.
 */
export function resolveEndpoint(flag: string | undefined, env: Env = process.env): string {
  const raw = nonEmpty(flag) ?? nonEmpty(env.HF_ENDPOINT) ?? DEFAULT_ENDPOINT;
  const where = nonEmpty(flag) !== undefined ? '--endpoint' : nonEmpty(env.HF_ENDPOINT) !== undefined ? 'HF_ENDPOINT' : 'default endpoint';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UserError(`${where} '${raw}' is not a URL; use e.g. --endpoint https://huggingface.co`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(`${where} '${raw}' must be an http:// or https:// URL; use e.g. --endpoint https://huggingface.co`);
  }
  return raw.replace(/\/+$/, '');
}

/**
 * `$HF_TOKEN` (older name `$HUGGING_FACE_HUB_TOKEN`), else the file `huggingface-cli login` writes
 * (`$HF_TOKEN_PATH`, default `$HF_HOME/token`). The BiomedCLIP repos are public: no token is needed, but a
 * stored one is harmless and lets gated mirrors work.
 */
export function resolveToken(env: Env = process.env): string | undefined {
  const fromEnv = nonEmpty(env.HF_TOKEN) ?? nonEmpty(env.HUGGING_FACE_HUB_TOKEN);
  if (fromEnv !== undefined) return fromEnv.trim();
  const file = nonEmpty(env.HF_TOKEN_PATH) ?? path.join(hfHome(env), 'token');
  if (!existsSync(file)) return undefined;
  try {
    return nonEmpty(readFileSync(file, 'utf8').trim());
  } catch {
    return undefined; // an unreadable token file is the same as none: public repos still download
  }
}

export function hubSettings(opts: { endpoint?: string; env?: Env } = {}): HubSettings {
  const env = opts.env ?? process.env;
  return {
    endpoint: resolveEndpoint(opts.endpoint, env),
    hubCache: hubCacheDir(env),
    hfHome: hfHome(env),
    token: resolveToken(env),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function homeDir(env: Env): string {
  return nonEmpty(env.HOME) ?? os.homedir();
}

function expandHome(p: string, env: Env): string {
  return p === '~' || p.startsWith('~/') ? path.join(homeDir(env), p.slice(1)) : p;
}
