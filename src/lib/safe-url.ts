/** Printing URLs that may carry secrets (credentials, tokens in the query or in the path). */

/**
 * The URL as `scheme://host[:port]` only, for logs, printed config and status: Slack, Teams and
 * Discord webhooks keep their secret in the path, others in the query or the credentials.
 */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return url === '' ? '' : '(invalid url)';
  }
}

/** Path segments shorter than this are words (`api`, `hooks`), not secrets, and are left in error texts. */
const MIN_SECRET_SEGMENT = 8;

/**
 * `text` with the URL's secrets (the whole URL, its credentials, path, query and fragment, and
 * every long path segment and query value) replaced by `***`.
 */
export function scrubUrlSecrets(text: string, url: string): string {
  const secrets = [url];
  const segments: string[] = [];
  try {
    const u = new URL(url);
    secrets.push(u.href, u.username, u.password, decodeURIComponent(u.username), decodeURIComponent(u.password));
    secrets.push(u.pathname, u.search, u.search.slice(1), u.hash);
    for (const value of u.searchParams.values()) secrets.push(value);
    for (const segment of u.pathname.split('/')) {
      segments.push(segment, safeDecode(segment));
    }
  } catch {
    // not a URL: only the whole string is known
  }
  const all = [
    ...secrets.filter((x) => x.length >= 3 && x !== '/'),
    ...segments.filter((x) => x.length >= MIN_SECRET_SEGMENT),
  ];
  let out = text;
  for (const secret of all.sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join('***');
  }
  return out;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
