/**
 * `/artifacts/*`: files a failing attempt left (screenshots, notes, page snapshots). Only regular
 * files whose real path stays inside the artifacts folder are served (a symlink pointing out of it
 * is refused), and nothing is rendered as an active document on the dashboard's origin: images go
 * out as images, everything else (HTML snapshots included) as `text/plain`, always under a CSP that
 * allows no script and sandboxes the response.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { RequestHandler } from 'express';

const IMAGE_TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
};

/** CSP of every artifact response: no script, no plugin, a sandboxed document. */
export const ARTIFACT_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** Express handler serving `artifactsDir` (mount it at `/artifacts`). */
export function serveArtifacts(artifactsDir: string): RequestHandler {
  const root = path.resolve(artifactsDir);
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.status(405).type('text/plain').send('method not allowed\n');
      return;
    }
    let relative: string;
    try {
      relative = decodeURIComponent(req.path);
    } catch {
      res.status(400).type('text/plain').send('bad path\n');
      return;
    }
    const requested = path.resolve(root, `.${path.posix.normalize(`/${relative}`)}`);
    const hidden = relative.split('/').some((part) => part.startsWith('.'));
    let real: string;
    try {
      const realRoot = await fs.realpath(root);
      real = await fs.realpath(requested);
      if (hidden || relative.includes('\0') || !isInside(realRoot, real) || !(await fs.stat(real)).isFile()) {
        throw new Error('outside');
      }
    } catch {
      res.status(404).type('text/plain').send('not found\n');
      return;
    }
    const type = IMAGE_TYPES[path.extname(real).toLowerCase()] ?? 'text/plain; charset=utf-8';
    res.set({
      'Content-Type': type,
      'Content-Security-Policy': ARTIFACT_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
    });
    res.sendFile(real, { dotfiles: 'allow', headers: { 'Content-Type': type } });
  };
}
