import { readFileSync } from 'node:fs';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate, ValidationSeverity, type ValidatorSettings } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';

/**
 * The Dockerfile is linted without a Docker daemon: dockerfile-utils (the validator behind the
 * Docker language server; hadolint is not packaged for this machine) with every optional check an
 * error, then the image rules hadolint would hold us to (DL3002 a non-root last USER, DL3006/DL3007
 * tagged base images and no `latest`, DL3025 JSON CMD, DL3015 apt-get without recommends, npm ci
 * not npm install), and the product's own: the production image leaves the sandbox and the demo out.
 */
const TEXT = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
const STRICT: ValidatorSettings = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};
/** The images `docker build --target` makes (docker-compose.yml builds both). */
const TARGETS = ['production', 'sandbox'];

interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

function stagesOf(text: string): Stage[] {
  const dockerfile = DockerfileParser.parse(text);
  const args = new Map(dockerfile.getInitialARGs().map((arg) => [arg.getProperty()?.getName() ?? '', arg.getProperty()?.getValue() ?? '']));
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const [image = '', , name = ''] = (instruction.getArgumentsContent() ?? '').split(/\s+/);
      const base = image.replace(/^\$\{?(\w+)\}?$/, (_, arg: string) => args.get(arg) ?? image);
      stages.push({ name: name || String(stages.length), base, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

function lint(text: string): string[] {
  const problems = validate(text, STRICT).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
  const stages = stagesOf(text);
  const names = new Set(stages.map((stage) => stage.name));
  for (const stage of stages) {
    if (!names.has(stage.base)) {
      const tag = stage.base.includes('@') ? 'digest' : stage.base.split('/').at(-1)!.split(':')[1];
      if (!tag) problems.push(`${stage.name}: base image ${stage.base} has no tag`);
      if (tag === 'latest') problems.push(`${stage.name}: base image ${stage.base} is tagged latest`);
    }
    for (const instruction of stage.instructions) {
      const keyword = instruction.getKeyword();
      const args = instruction.getArgumentsContent() ?? '';
      if ((keyword === 'CMD' || keyword === 'ENTRYPOINT') && !args.trim().startsWith('[')) problems.push(`${stage.name}: ${keyword} is not in JSON form`);
      if (keyword === 'RUN' && /apt-get install/.test(args) && !/--no-install-recommends/.test(args)) problems.push(`${stage.name}: apt-get install without --no-install-recommends`);
      if (keyword === 'RUN' && /npm (install|i)\b/.test(args)) problems.push(`${stage.name}: npm install instead of npm ci`);
    }
  }
  for (const target of TARGETS) {
    const stage = stages.find((candidate) => candidate.name === target);
    if (!stage) {
      problems.push(`no ${target} stage`);
      continue;
    }
    const user = stage.instructions.filter((instruction) => instruction.getKeyword() === 'USER').at(-1)?.getArgumentsContent();
    if (!user || /^(root|0)(:|$)/.test(user)) problems.push(`${target}: runs as ${user ?? 'root (no USER)'}`);
  }
  return problems;
}

/** The sources of every COPY from the build context behind a stage's files: its own, and those of the stages it copies from or builds on. */
function copiesBehind(stages: Stage[], name: string, seen = new Set<string>()): string[] {
  const stage = stages.find((candidate) => candidate.name === name);
  if (!stage || seen.has(name)) return [];
  seen.add(name);
  const copies = stage.instructions.filter((i) => i.getKeyword() === 'COPY').map((i) => ({ from: /--from=(\S+)/.exec(i.getTextContent())?.[1], args: i.getArgumentsContent() ?? '' }));
  const fromContext = copies.filter((copy) => copy.from === undefined).map((copy) => copy.args);
  const sources = copies.map((copy) => copy.from).filter((source): source is string => source !== undefined);
  return [...fromContext, ...[stage.base, ...sources].flatMap((source) => copiesBehind(stages, source, seen))];
}

/** Every RUN the production image's files went through: its own, and those of the stages it copies from or builds on. */
function runsBehind(stages: Stage[], name: string, seen = new Set<string>()): string[] {
  const stage = stages.find((candidate) => candidate.name === name);
  if (!stage || seen.has(name)) return [];
  seen.add(name);
  const runs = stage.instructions.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent() ?? '');
  const sources = stage.instructions
    .filter((i) => i.getKeyword() === 'COPY')
    .map((i) => /--from=(\S+)/.exec(i.getTextContent())?.[1])
    .filter((source): source is string => source !== undefined);
  return [...runs, ...[stage.base, ...sources].flatMap((source) => runsBehind(stages, source, seen))];
}

describe('the Dockerfile', () => {
  it('passes the linter and the image rules', () => {
    expect(lint(TEXT)).toEqual([]);
  });

  it('fails them when a rule is broken (the rules are not vacuous)', () => {
    const broken = TEXT.replace('ARG NODE_IMAGE=node:20-bookworm-slim', 'ARG NODE_IMAGE=node:latest')
      .replace(/(FROM \$\{NODE_IMAGE\} AS production[\s\S]*?)USER node\n/, '$1')
      .replace('CMD ["node", "--import", "tsx", "sandbox/main.ts"]', 'CMD node --import tsx sandbox/main.ts')
      .replace('WORKDIR /app', 'WORKDIR app');
    expect(broken).not.toBe(TEXT);
    const problems = lint(broken);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/tagged latest/),
        'production: runs as root (no USER)',
        'sandbox: CMD is not in JSON form',
        expect.stringMatching(/WORKDIR/i),
      ]),
    );
  });

  it('leaves the sandbox and the demo out of the production image', () => {
    const runs = runsBehind(stagesOf(TEXT), 'production').join('\n');
    for (const path of ['src/demo.ts', 'src/app/embedded-sandbox.ts']) expect(runs).toMatch(new RegExp(`rm -rf [^\\n]*${path.replace('.', '\\.')}`));
    // The sandbox is its own top-level folder: no stage behind the production image copies it (nor the whole context).
    const copies = copiesBehind(stagesOf(TEXT), 'production');
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) expect(copy).not.toMatch(/(^|\s)(\.\/?|sandbox\/?)\s/);
    expect(copiesBehind(stagesOf(TEXT), 'sandbox').join('\n')).toMatch(/^sandbox \S/m);
  });
});
