/**
 * `node write-code-cache.cjs SCRIPT` (dist/bin/, scripts/build.ts): makes SCRIPT's code cache
 * (code-cache.ts) with this node. The build runs it with its node; the image's build again with the
 * image's (packaging/image.ts), whose cache V8 there takes.
 */
import { writeCodeCache } from './code-cache.ts';

const script = process.argv[2];
if (script === undefined) {
  process.stderr.write('usage: node write-code-cache.cjs SCRIPT\n');
  process.exitCode = 2;
} else {
  writeCodeCache(script);
}
