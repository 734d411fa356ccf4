/** Printing URLs that may carry secrets (credentials, tokens in the query). */

/** The URL without credentials or query string (which may carry tokens), for logs and printed config. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return url === '' ? '' : '(invalid url)';
  }
}

/** `text` with the URL's credentials, query and fragment (and the URL itself) replaced by `***`. */
export function scrubUrlSecrets(text: string, url: string): string {
  const secrets = [url];
  try {
    const u = new URL(url);
    secrets.push(u.href, u.username, u.password, decodeURIComponent(u.username), decodeURIComponent(u.password));
    secrets.push(u.search, u.search.slice(1), u.hash);
    for (const value of u.searchParams.values()) secrets.push(value);
  } catch {
    // not a URL: only the whole string is known
  }
  let out = text;
  for (const secret of secrets.filter((x) => x.length >= 3).sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join('***');
  }
  return out;
}
