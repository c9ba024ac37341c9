// What the client does after the realtime socket closes, by close code
// (docs/protocol.md). One table so the connection manager and its tests
// agree on every code.

export type CloseAction =
  /** reconnect at once and resume the held session */
  | "resume"
  /** reconnect after a backoff delay and resume */
  | "backoff"
  /** fetch fresh room tokens (refreshing the access token if needed), then resume */
  | "refresh"
  /** the session is gone: join again through the API (new tokens, new session) */
  | "rejoin"
  /** wait for the server's retry-after, then resume */
  | "retry_after"
  /** stop for good and tell the user why */
  | "final"
  /** stop, but the user may try again (room full) */
  | "final_retryable"
  /** the client left on purpose */
  | "done";

export interface ClosePolicy {
  action: CloseAction;
  code: string;
  /** a sentence for the status indicator */
  message: string;
}

const table: Record<number, ClosePolicy> = {
  1000: { action: "done", code: "normal", message: "Left the room" },
  1001: { action: "resume", code: "going_away", message: "The server is restarting" },
  1012: { action: "resume", code: "service_restart", message: "The server is restarting" },
  1006: { action: "backoff", code: "connection_lost", message: "Connection lost" },
  1008: { action: "backoff", code: "policy_violation", message: "The server refused a message" },
  1009: { action: "backoff", code: "too_big", message: "A message was too large" },
  1011: { action: "backoff", code: "internal", message: "The server had a problem" },
  4000: { action: "backoff", code: "protocol_error", message: "Protocol error" },
  4001: { action: "rejoin", code: "token_invalid", message: "Session no longer valid" },
  4002: { action: "refresh", code: "token_expired", message: "Session token expired" },
  4003: { action: "final", code: "banned", message: "You were banned from this room" },
  4004: { action: "final", code: "room_deleted", message: "This room was deleted" },
  4005: { action: "final_retryable", code: "room_full", message: "The room is full" },
  4006: { action: "final", code: "kicked", message: "You were removed from this room" },
  4007: { action: "final", code: "replaced", message: "You opened this room in another tab or window" },
  4008: { action: "resume", code: "slow_consumer", message: "The connection fell behind" },
  4009: { action: "resume", code: "idle_timeout", message: "The connection was idle" },
  4010: { action: "resume", code: "hello_timeout", message: "The server did not hear from us in time" },
  4011: { action: "retry_after", code: "rate_limited", message: "Too many connections; waiting" },
};

/** policyFor maps a close code to the client's next step; unknown codes back off and retry. */
export function policyFor(closeCode: number): ClosePolicy {
  return table[closeCode] ?? { action: "backoff", code: "connection_lost", message: "Connection lost" };
}

/** isFinal reports whether reconnecting by itself is pointless. */
export function isFinal(a: CloseAction): boolean {
  return a === "final" || a === "final_retryable" || a === "done";
}

// The voice service's close codes (docs/protocol.md, Voice). Its numbers
// differ from the realtime gateway's above 4002.
const voiceTable: Record<number, ClosePolicy> = {
  1000: { action: "done", code: "normal", message: "Left voice" },
  1001: { action: "resume", code: "going_away", message: "The voice server is restarting" },
  1006: { action: "resume", code: "connection_lost", message: "Voice connection lost" },
  1008: { action: "backoff", code: "policy_violation", message: "The voice server refused a message" },
  1009: { action: "backoff", code: "too_big", message: "A voice message was too large" },
  1011: { action: "backoff", code: "internal", message: "The voice server had a problem" },
  4001: { action: "refresh", code: "token_invalid", message: "Voice session no longer valid" },
  4002: { action: "refresh", code: "token_expired", message: "Voice token expired" },
  4003: { action: "final", code: "forbidden", message: "Voice is not allowed in this room" },
  4004: { action: "final", code: "kicked", message: "You were removed from this room" },
  4005: { action: "final", code: "banned", message: "You were banned from this room" },
  4006: { action: "final", code: "room_deleted", message: "This room was deleted" },
  4007: { action: "final", code: "replaced", message: "Voice is on in another tab or window" },
  4008: { action: "rejoin", code: "resume_failed", message: "Voice session expired" },
  4009: { action: "rejoin", code: "timeout", message: "Voice timed out" },
  4010: { action: "resume", code: "slow_consumer", message: "Voice connection fell behind" },
  4011: { action: "done", code: "superseded", message: "Voice moved to a newer connection" },
};

/** voicePolicyFor maps a voice close code to the client's next step. */
export function voicePolicyFor(closeCode: number): ClosePolicy {
  return voiceTable[closeCode] ?? { action: "backoff", code: "connection_lost", message: "Voice connection lost" };
}
