// Placeholder until the generator lands: lists the affected projects.
import { execFileSync } from 'node:child_process';

const out = execFileSync('npx', ['nx', 'show', 'projects', '--affected', '--base', process.argv[2] ?? 'HEAD~1'], { encoding: 'utf8' });
process.stdout.write(out);
