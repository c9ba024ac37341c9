package signal

import (
	"github.com/pion/webrtc/v4"

	voicev1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/voice/v1"
)

// CandidateToProto encodes a gathered ICE candidate for the wire; nil (the
// end of gathering) becomes an empty candidate.
func CandidateToProto(c *webrtc.ICECandidate) *voicev1.IceCandidate {
	msg := &voicev1.IceCandidate{}
	if c == nil {
		return msg
	}
	j := c.ToJSON()
	msg.Candidate = j.Candidate
	if j.SDPMid != nil {
		msg.SdpMid = *j.SDPMid
	}
	if j.SDPMLineIndex != nil {
		msg.SdpMlineIndex = uint32(*j.SDPMLineIndex)
	}
	if j.UsernameFragment != nil {
		msg.UsernameFragment = *j.UsernameFragment
	}
	return msg
}

// CandidateFromProto is the inverse of CandidateToProto, ready for
// AddICECandidate.
func CandidateFromProto(c *voicev1.IceCandidate) webrtc.ICECandidateInit {
	init := webrtc.ICECandidateInit{Candidate: c.GetCandidate()}
	if mid := c.GetSdpMid(); mid != "" {
		init.SDPMid = &mid
	}
	idx := uint16(c.GetSdpMlineIndex())
	init.SDPMLineIndex = &idx
	if u := c.GetUsernameFragment(); u != "" {
		init.UsernameFragment = &u
	}
	return init
}
