// Server-Sent Events read with fetch: EventSource can only GET, and every stream here answers a POST.

import { fetchAsCaller } from "./credential.js";

// Reads an SSE body incrementally. Lines may end in \r\n, \r or \n, and a chunk may end anywhere,
// even between \r and \n, so only complete lines are parsed and the rest waits for the next chunk.
export async function readEvents(body, onEvent) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let event = { type: "", data: [] };
  const takeLine = (line) => {
    if (line === "") {
      if (event.data.length) onEvent(event.type || "message", event.data.join("\n"));
      event = { type: "", data: [] };
    } else if (!line.startsWith(":")) {  // ":" lines are heartbeats
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event.type = value;
      else if (field === "data") event.data.push(value);
    }
  };
  for (;;) {
    const { value, done } = await reader.read();
    buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
    const cut = !done && buffer.endsWith("\r") ? buffer.length - 1 : buffer.length;
    const lines = buffer.slice(0, cut).split(/\r\n|\r|\n/);
    buffer = lines.pop() + buffer.slice(cut);
    lines.forEach(takeLine);
    if (done) return takeLine("");  // a last event without its blank line still counts
  }
}

// POSTs `body` as JSON asking for a stream, and calls handlers[event type] with each event's
// parsed data (events without a handler are skipped). A request refused before any stream starts
// (a validation error, an unknown route, a busy server) is answered as plain JSON: its error is
// returned, and `onStream` is never called. Otherwise the error is null once an event named in
// `endsWith` has arrived, or STREAM_ENDED if the stream stopped before one did.
export async function postStream(url, body, handlers, { endsWith = ["result", "error"], onStream } = {}) {
  const response = await fetchAsCaller(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify(body),
  });
  if (!(response.headers.get("Content-Type") || "").includes("text/event-stream")) {
    const answer = await response.json().catch(() => null);
    return answer?.error || { code: `HTTP_${response.status}`, message: response.statusText };
  }
  onStream?.();
  let ended = false;
  await readEvents(response.body, (type, data) => {
    if (!Object.hasOwn(handlers, type)) return;
    ended ||= endsWith.includes(type);
    handlers[type](JSON.parse(data));
  });
  return ended ? null : { code: "STREAM_ENDED", message: "The stream ended without a result." };
}
