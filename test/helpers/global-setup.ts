import { execFileSync } from 'node:child_process';

/** Builds `dist/` once: integration tests start the service exactly as `npm start` and Docker do. */
export default function setup(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
