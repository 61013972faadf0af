import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { renderInstallScript } from './install-script.ts';

const manifest = {
  version: '0.3.1',
  contractVersion: 2,
  node: '>=18',
  artifacts: [
    {
      file: 'binfleet-agent_0.3.1_all.deb',
      kind: 'deb' as const,
      arch: 'all' as const,
      sha256: 'a'.repeat(64),
      size: 10,
    },
    {
      file: 'binfleet-agent-0.3.1-linux.tar.gz',
      kind: 'tarball' as const,
      arch: 'all' as const,
      sha256: 'b'.repeat(64),
      size: 20,
    },
  ],
};

describe('the install script', () => {
  const script = renderInstallScript({ publicUrl: 'https://cp.example:8443/binfleet', manifest });

  it('pins this control plane, the version and every checksum', () => {
    expect(script).toContain("BINFLEET_URL='https://cp.example:8443/binfleet'");
    expect(script).toContain("AGENT_VERSION='0.3.1'");
    expect(script).toContain(`DEB_SHA256='${'a'.repeat(64)}'`);
    expect(script).toContain(`TAR_SHA256='${'b'.repeat(64)}'`);
    expect(script).not.toMatch(/@@[A-Z_]+@@/);
    // The shell's own ${...} came through the template literal as the shell needs it.
    expect(script).toContain('TOKEN=${CODE%%.*}');
    expect(script).not.toContain('$\\{');
  });

  it('runs nothing unless it arrived whole: everything is in main(), called on the last line', () => {
    const lines = script.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('main "$@"');
    // Outside functions, only assignments and comments: a cut download defines, but never acts.
    let depth = 0;
    for (const line of lines.slice(0, -1)) {
      if (depth === 0 && line.trim() && !line.startsWith('#') && !/^[A-Z_0-9]+='[^']*'$/.test(line))
        expect(line).toMatch(/^[a-z_]+\(\) \{( .*)?$/);
      depth += (line.match(/\{\s*$/g) ?? []).length;
      if (/^}$/.test(line)) depth--;
    }
    // A prefix of the script is still valid sh that does nothing: cut before main's call.
    const cut = lines.slice(0, -1).join('\n');
    const result = spawnSync('sh', ['-s', '--', '--code', 'bfj_x'], { input: cut, encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('is valid POSIX sh (dash -n) and, where shellcheck is installed, has no warnings', () => {
    const dash = spawnSync('dash', ['-n'], { input: script, encoding: 'utf8' });
    expect(dash.status, dash.stderr).toBe(0);
    const check = spawnSync('shellcheck', ['-s', 'sh', '-S', 'warning', '-'], {
      input: script,
      encoding: 'utf8',
    });
    if (!check.error) expect(check.stdout).toBe('');
  });

  it('says what to do with a bad code or option, before it needs root or the server', () => {
    const run = (...args: string[]) =>
      spawnSync('sh', ['-s', '--', ...args], {
        input: script,
        encoding: 'utf8',
        env: { PATH: process.env.PATH } as unknown as NodeJS.ProcessEnv,
      });
    expect(run().stderr).toContain('give --code CODE');
    expect(run('--code', "x';reboot").stderr).toContain('--code has characters a code never has');
    expect(run('--code', 'bfj_x', '--prefix', '/opt/a b').stderr).toContain('options take plain paths');
    expect(run('--frobnicate').stderr).toContain('unknown option --frobnicate');
    expect(run('--help').stdout).toContain('--dry-run');
  });

  it('refuses values a shell would read twice', () => {
    expect(() => renderInstallScript({ publicUrl: "https://cp.example/'$(id)'", manifest })).toThrow();
    expect(() =>
      renderInstallScript({ publicUrl: 'https://cp.example', manifest: { ...manifest, version: "1'2" } }),
    ).toThrow(/VERSION/);
  });
});
