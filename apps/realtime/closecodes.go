package realtime

// WebSocket close codes of the realtime protocol (docs/protocol.md). The
// 4000s are Hearth's own; each tells the client what to do next.
const (
	closeNormal         = 1000 // the client left
	closeUnsupported    = 1003 // a text frame: the protocol is binary
	closePolicy         = 1008 // sustained abuse of the rate limits
	closeTooBig         = 1009 // a frame over the size limit
	closeInternal       = 1011 // a server fault; retry
	closeServiceRestart = 1012 // the node is shutting down; reconnect and resume
	closeProtocol       = 4000 // malformed or out-of-order messages
	closeTokenInvalid   = 4001 // the token is not valid: join again through the API
	closeTokenExpired   = 4002 // the token expired: refresh it and resume
	closeBanned         = 4003 // final
	closeRoomDeleted    = 4004 // final
	closeRoomFull       = 4005 // final until the user tries again
	closeKicked         = 4006 // final
	closeReplaced       = 4007 // final: another connection took this session over
	closeSlowConsumer   = 4008 // the client did not keep up: resume
	closeIdleTimeout    = 4009 // nothing heard for too long: resume
	closeHelloTimeout   = 4010 // no hello in time: reconnect
	closeRateLimited    = 4011 // too many connection attempts: retry later
	closeRoomMoved      = 4012 // another node holds the room: join again through the API

	// closeNetwork is not sent: it labels a connection that just broke.
	closeNetwork = -1
)

// closeName is a code's name, used in goodbyes, logs and metric labels.
func closeName(code int) string {
	switch code {
	case closeNormal:
		return "left"
	case closeUnsupported:
		return "unsupported_data"
	case closePolicy:
		return "policy_violation"
	case closeTooBig:
		return "frame_too_large"
	case closeInternal:
		return "internal"
	case closeServiceRestart:
		return "service_restart"
	case closeProtocol:
		return "protocol_error"
	case closeTokenInvalid:
		return "token_invalid"
	case closeTokenExpired:
		return "token_expired"
	case closeBanned:
		return "banned"
	case closeRoomDeleted:
		return "room_deleted"
	case closeRoomFull:
		return "room_full"
	case closeKicked:
		return "kicked"
	case closeReplaced:
		return "replaced"
	case closeSlowConsumer:
		return "slow_consumer"
	case closeIdleTimeout:
		return "idle_timeout"
	case closeHelloTimeout:
		return "hello_timeout"
	case closeRateLimited:
		return "rate_limited"
	case closeRoomMoved:
		return "room_moved"
	case closeNetwork:
		return "network"
	}
	return "unknown"
}

// closeFinal reports whether reconnecting after code cannot help.
func closeFinal(code int) bool {
	switch code {
	case closeBanned, closeRoomDeleted, closeKicked, closeReplaced, closeRoomFull, closeNormal:
		return true
	}
	return false
}
