/**
 * The shared flag parser (src/cli/args.ts), issue 19: a negative number after a flag that takes a value is
 * that value and meets the option's own check (not Node's "argument is ambiguous"); Node's parse errors
 * come out as one line in our words, quotes balanced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { negativeValues, parse } from '../src/cli/args.js';
import { UserError } from '../src/errors.js';
import { cli, cliInProcess, EXAMPLE_IMAGES, oneErrorLine } from './helpers.js';

const OPTIONS = { layer: { type: 'string' }, json: { type: 'boolean' } } as const;

test('negativeValues: a negative number after a string flag becomes its value; nothing else changes', () => {
  assert.deepEqual(negativeValues(['--layer', '-1', 'x'], OPTIONS), ['--layer=-1', 'x']);
  assert.deepEqual(negativeValues(['--layer', '-0.5'], OPTIONS), ['--layer=-0.5']);
  assert.deepEqual(negativeValues(['--layer', '-.5'], OPTIONS), ['--layer=-.5']);
  assert.deepEqual(negativeValues(['--json', '-1'], OPTIONS), ['--json', '-1'], 'a boolean flag takes no value');
  assert.deepEqual(negativeValues(['--layer', '--json'], OPTIONS), ['--layer', '--json'], 'a flag is not a number');
  assert.deepEqual(negativeValues(['--', '--layer', '-1'], OPTIONS), ['--', '--layer', '-1'], 'after --, positionals');
  assert.deepEqual(parse('x', ['--layer', '-3'], { options: OPTIONS }).values.layer, '-3');
});

test('parse errors: one line, our words, balanced quotes, the command named', () => {
  const message = (args: string[]) => {
    try {
      parse('explain', args, { options: OPTIONS, allowPositionals: true });
    } catch (e) {
      assert.ok(e instanceof UserError && e.exitCode === 2);
      return e.message;
    }
    assert.fail('no error');
  };
  assert.equal(message(['--demo']), "unknown option '--demo'; see `biomedclip explain --help`");
  assert.equal(
    message(['--layer', '-x']),
    "--layer is followed by a value that starts with '-'; if it is the value, write --layer=VALUE; see `biomedclip explain --help`",
  );
  assert.equal(message(['--layer']), "Option '--layer <value>' argument missing; see `biomedclip explain --help`");
});

// The CLI's main() runs in this process where the flags are what is tested (no CPU-second of start-up per
// case); `tokenize` and `--backend bogus` run as child processes, as a user would.
test("CLI: --layer -1 and --layer=-1 give the option's own message (exit 2), before any model work", async () => {
  for (const args of [['--layer', '-1'], ['--layer=-1']]) {
    oneErrorLine(
      await cliInProcess('explain', EXAMPLE_IMAGES.squamous, '--text', 'x', '--model', 'demo', '--method', 'attention', ...args),
      2,
      /--layer -1: expected an integer >= 0/,
    );
  }
  oneErrorLine(
    await cliInProcess('explain', EXAMPLE_IMAGES.squamous, '--text', 'x', '--model', 'demo', '--method', 'rollout', '--discard-ratio', '-0.5'),
    2,
    /--discard-ratio -0\.5: expected a number in \[0, 1\)/,
  );
});

test('--demo is --model demo on every command that takes --model; with another --model it is an error', async () => {
  const image = EXAMPLE_IMAGES.squamous;
  const classify = await cliInProcess('classify', image, '--demo', '--backend', 'cpu', '--labels', 'a,b', '--json', '--quiet');
  assert.equal(classify.code, 0, classify.stderr.join('\n'));
  assert.match(JSON.parse(classify.out)[0].model, /random weights/);
  const embed = await cliInProcess('embed', '--demo', '--backend', 'cpu', '--text', 'tumor', '--json', '--quiet');
  assert.equal(embed.code, 0, embed.stderr.join('\n'));
  const tokenize = cli('tokenize', '--demo', '--pad-to', 'longest', '--json', 'tumor'); // it writes to stdout directly: a child sees it
  assert.equal(tokenize.status, 0, tokenize.stderr);
  assert.deepEqual(JSON.parse(tokenize.stdout).tokens, [['[CLS]', 'tumor', '[SEP]']]);
  oneErrorLine(await cliInProcess('explain', image, '--text', 'x', '--demo', '--model', '/some/dir'), 2, /--demo and --model \/some\/dir exclude each other/);
  assert.equal((await cliInProcess('summary', '--demo', '--model', 'demo', '--backend', 'cpu', '--json')).code, 0, '--demo with --model demo agree');
});

test('--backend bogus: exit 2 (a bad argument), named with the valid backends, before the model is looked for', () => {
  oneErrorLine(
    cli('embed', '--model', '/no/such/model', '--backend', 'bogus', '--text', 'x'),
    2,
    /--backend bogus: unknown backend; valid backends: tensorflow, webgpu, wasm, cpu/,
  );
});
