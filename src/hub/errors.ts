/**
 * Turns what the hub or the network said into one actionable line.
 *
 * The hub labels its refusals with an `X-Error-Code` header (RepoNotFound, RevisionNotFound,
 * EntryNotFound, GatedRepo) next to the status, as huggingface_hub's `hf_raise_for_status` reads them: the
 * same 404 can mean "wrong revision" or "file not at this revision", and the fix differs. Anonymous
 * requests for a repo that does not exist get 401 (not 404) so private repo names do not leak; the message
 * therefore mentions both a token and a typo.
 */
import { UserError } from '../errors.js';
import { displayUrl, NetworkError } from './http.js';

export interface HubContext {
  repo: string;
  file: string;
  revision: string;
  endpoint: string;
  /** Whether a token was sent with the request. */
  withToken: boolean;
  /** The command line that retries this download, e.g. "biomedclip download --revision main". */
  retryCommand: string;
}

/** An HTTP status the hub or CDN answered with; `retryable` for server-side trouble (5xx, 429). */
export class HttpStatusError extends Error {
  readonly status: number;
  readonly errorCode: string | undefined;
  readonly retryable: boolean;

  constructor(status: number, errorCode: string | undefined, url: string, detail = '') {
    super(`HTTP ${status}${errorCode !== undefined ? ` ${errorCode}` : ''} for ${displayUrl(url)}${detail ? `: ${detail}` : ''}`);
    this.name = 'HttpStatusError';
    this.status = status;
    this.errorCode = errorCode;
    this.retryable = status >= 500 || status === 429 || status === 408;
  }
}

/** The user-facing line for a refused request. */
export function statusToUserError(err: HttpStatusError, ctx: HubContext): UserError {
  const what = `${ctx.repo}/${ctx.file} at revision '${ctx.revision}' on ${ctx.endpoint}`;
  const code = err.errorCode;
  if (code === 'GatedRepo') {
    return new UserError(
      `${ctx.repo} is gated (HTTP ${err.status}): accept its terms on ${ctx.endpoint}/${ctx.repo}, then set HF_TOKEN to a token of that account and rerun \`${ctx.retryCommand}\``,
    );
  }
  if (err.status === 401) {
    const token = ctx.withToken
      ? 'the token in HF_TOKEN was refused: check it is valid and has read access'
      : 'set HF_TOKEN to a Hugging Face access token if the repo is private';
    return new UserError(`401 Unauthorized for ${what}: the repo is private or does not exist; ${token}, and check the repo name`);
  }
  if (err.status === 403) {
    return new UserError(`403 Forbidden for ${what}: your HF_TOKEN has no access to ${ctx.repo}; request access on the hub or use another token`);
  }
  if (err.status === 404) return notFound(code, what, ctx);
  if (err.retryable) {
    return new UserError(
      `the hub or its CDN answered HTTP ${err.status} for ${what} after several tries: it may be down; retry later with \`${ctx.retryCommand}\``,
    );
  }
  return new UserError(`unexpected HTTP ${err.status} for ${what}; retry with \`${ctx.retryCommand}\` or report it`);
}

function notFound(code: string | undefined, what: string, ctx: HubContext): UserError {
  if (code === 'RevisionNotFound') {
    return new UserError(`404: revision '${ctx.revision}' not found in ${ctx.repo} on ${ctx.endpoint}: pass an existing branch, tag or commit with --revision`);
  }
  if (code === 'EntryNotFound') {
    return new UserError(`404: ${ctx.file} does not exist in ${ctx.repo} at revision '${ctx.revision}': pick a revision that has it with --revision`);
  }
  if (code === 'RepoNotFound') {
    return new UserError(`404: repository ${ctx.repo} not found on ${ctx.endpoint}: check --endpoint (or HF_ENDPOINT) points at a Hugging Face hub or mirror`);
  }
  return new UserError(`404 Not Found for ${what}: check the revision (--revision) and the endpoint (--endpoint or HF_ENDPOINT)`);
}

/** The user-facing line for a hub that cannot be reached at all. */
export function networkToUserError(err: NetworkError, ctx: HubContext): UserError {
  const host = safeHost(err.url);
  return new UserError(
    `cannot reach ${host} (${err.code}) while fetching ${ctx.repo}/${ctx.file}: check your network and retry \`${ctx.retryCommand}\`, or use a mirror with --endpoint URL (or HF_ENDPOINT)`,
  );
}

function safeHost(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
