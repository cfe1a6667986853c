/** The `hbi` command line itself: finding commands, parsing arguments, help, and usage exit codes. */
import 'reflect-metadata';

import { describe, expect, it } from 'vitest';

import { redacted } from '../../../src/cli/bench/commands.js';
import { EXIT_CODES } from '../../../src/cli/exit-codes.js';
import { COMMANDS, runCli } from '../../../src/cli/run.js';
import { captureIo } from '../../helpers/cli-io.js';

async function hbi(argv: string[], env: Record<string, string> = {}) {
  const captured = captureIo(env, () => Promise.reject(new Error('no network in this test')));
  const code = await runCli(argv, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

describe('hbi: commands and help', () => {
  it('prints the usage with every command and the exit codes, exiting 2 when no command is given', async () => {
    const { code, stdout } = await hbi([]);
    expect(code).toBe(EXIT_CODES.USAGE);
    for (const command of COMMANDS) expect(stdout).toContain(`  ${command.name} `);
    expect(stdout).toMatch(/Exit codes:[\s\S]*3 +server unreachable/);
  });

  it('exits 0 for help, and shows one command’s options for help <command>', async () => {
    expect((await hbi(['help'])).code).toBe(EXIT_CODES.OK);
    const { code, stdout } = await hbi(['help', 'search']);
    expect(code).toBe(EXIT_CODES.OK);
    expect(stdout).toContain('Usage: hbi search "<text>"');
    expect(stdout).toContain('--first <n>');
  });

  it.each(COMMANDS.map((command) => command.name))(
    'hbi %s --help explains its usage and options',
    async (name) => {
      const { code, stdout } = await hbi([...name.split(' '), '--help']);
      expect(code).toBe(EXIT_CODES.OK);
      expect(stdout).toContain(`Usage: hbi ${name}`);
      expect(stdout).toContain('-h, --help');
    },
  );

  it('rejects an unknown command (and an unknown benchmark) with exit code 2', async () => {
    expect(await hbi(['frobnicate'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown command "frobnicate"'),
    });
    expect(await hbi(['bench', 'gpu'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown command "bench gpu"'),
    });
  });
});

describe('hbi: usage errors exit 2 and do nothing', () => {
  it.each([
    [['search'], 'needs more arguments'],
    [['search', 'a', 'b'], 'takes at most 1 argument'],
    [['search', 'a red ball', '--bogus'], "Unknown option '--bogus'"],
    [['search', 'a red ball', '--first', 'many'], '--first must be an integer from 1 to 1000'],
    [['search', '   '], 'The search text is empty'],
    [['search', 'a red ball', '--url', 'ftp://example.com/graphql'], 'must be an http(s) URL'],
    [['ask', 'some-id'], 'needs more arguments'],
    [['ask', 'some-id', ''], 'The question is empty'],
    [['ask', 'some-id', 'what colour?', '--segment', '--video'], 'not both'],
    [['caption', 'some-id', '--beam', '9'], '--beam must be an integer from 1 to 8'],
    [['ingest'], 'needs more arguments'],
    [['migrate', 'now'], 'takes at most 0 argument'],
    [['bench', 'search', '--noise', 'loud'], '--noise must be a number'],
    [['bench', 'encoder', '--clips', '0'], '--clips must be an integer from 1'],
    [['bench', 'interaction'], '--baseline-model <dir> is required'],
    [
      ['bench', 'interaction', '--baseline-model', 'x', '--candidates', '0'],
      '--candidates must be an integer from 1',
    ],
    [['bench', 'search', '--copies', '4', '--segments', '100'], 'Give --segments or --copies, not both'],
    [['bench', 'search', '--database', 'mysql'], '--database must be embedded or postgres'],
    [['bench', 'search', '--database', 'postgres'], '--database postgres needs --database-url'],
    [['bench', 'search', '--reuse'], '--reuse needs --database postgres'],
    [['bench', 'search', '--budgets', '2000,lots'], '--budgets must be comma-separated'],
  ])('hbi %j', async (argv, message) => {
    const { code, stderr, stdout } = await hbi(argv);
    expect(code).toBe(EXIT_CODES.USAGE);
    expect(stderr).toContain(message);
    expect(stderr).toContain('--help" for usage');
    expect(stdout).toBe('');
  });

  it('writes no database password into a benchmark report', () => {
    expect(redacted('postgresql://hbi:s3cret@127.0.0.1:5432/bench')).toBe(
      'postgresql://hbi:***@127.0.0.1:5432/bench',
    );
    expect(redacted('postgresql://127.0.0.1/bench')).toBe('postgresql://127.0.0.1/bench');
  });

  it('reads HBI_URL when --url is absent, and validates it the same way', async () => {
    const { code, stderr } = await hbi(['search', 'a red ball'], { HBI_URL: 'not a url' });
    expect(code).toBe(EXIT_CODES.USAGE);
    expect(stderr).toContain('"not a url"');
  });

  it('exits 78 when the configuration is invalid', async () => {
    const { code, stderr } = await hbi(['migrate'], { HBI_PORT: 'eighty' });
    expect(code).toBe(EXIT_CODES.CONFIG);
    expect(stderr).toContain('HBI_PORT');
  });
});
