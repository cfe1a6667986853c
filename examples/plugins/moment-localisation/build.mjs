// Compiles src/*.ts to dist/*.js, one file at a time and without type-checking (types are checked by
// `npm run typecheck`, or in the hbi-platform repository by its root tsconfig), so the build needs
// nothing but the `typescript` package: no installed hbi-platform type declarations.
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';

const root = path.dirname(fileURLToPath(import.meta.url));
const { config, error } = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile);
if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, root);
// One file at a time TypeScript cannot see package.json's "type": say ESM outright.
const compilerOptions = {
  ...options,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
};
const [src, out] = [path.join(root, 'src'), path.join(root, 'dist')];

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
for (const name of (await readdir(src)).filter((file) => file.endsWith('.ts'))) {
  const source = await readFile(path.join(src, name), 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: name });
  await writeFile(path.join(out, name.replace(/\.ts$/, '.js')), outputText);
}

// Inside the hbi-platform repository nothing installs this package, so link `hbi-platform` to the
// repository root as `npm install ../../..` would (its peers resolve from the root's node_modules).
const repository = path.resolve(root, '../../..');
const link = path.join(root, 'node_modules', 'hbi-platform');
const repositoryName = existsSync(path.join(repository, 'package.json'))
  ? JSON.parse(await readFile(path.join(repository, 'package.json'), 'utf8')).name
  : undefined;
if (repositoryName === 'hbi-platform' && !existsSync(link)) {
  await mkdir(path.dirname(link), { recursive: true });
  await symlink(path.relative(path.dirname(link), repository), link, 'dir');
}
