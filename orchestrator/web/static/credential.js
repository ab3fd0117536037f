// The caller's API key, for an orchestrator that asks for one (AUTH__MODE): asked for when the API
// answers 401, and kept in sessionStorage, for this tab only (gone when it closes; never in a URL).

const STORED = "orchestrator.apiKey";

export function credentialHeaders() {
  const key = sessionStorage.getItem(STORED);
  return key ? { "X-API-Key": key } : {};
}

// fetch, with the key kept if there is one. On a 401 (no key yet, or one no longer taken), the key
// is asked for once and the request sent again with it; with `ask: false` the 401 is returned as is.
export async function fetchAsCaller(url, options = {}, { ask = true } = {}) {
  const send = () => fetch(url, { ...options, headers: { ...options.headers, ...credentialHeaders() } });
  const response = await send();
  if (response.status !== 401 || !ask) return response;
  sessionStorage.removeItem(STORED);
  const key = window.prompt("This orchestrator needs an API key (kept for this tab only):");
  if (!key || !key.trim()) return response;
  sessionStorage.setItem(STORED, key.trim());
  return send();
}
